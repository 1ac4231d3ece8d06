using Api.Benchmarks;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// bench/run.sh runs this as `dotnet bench/Micro/bin/Release/net10.0/Api.Benchmarks.dll [--quick] [BenchmarkDotNet args]`.
// In-process: no per-benchmark project generation and rebuild, which on this 2-core machine would cost minutes. Every
// benchmark class starts and stops what it measures in its own setup, so they don't share listeners.
var quick = args.Contains("--quick");
var job = (quick ? Job.ShortRun.WithIterationCount(3).WithWarmupCount(1) : Job.Default.WithIterationCount(10).WithWarmupCount(3))
    .WithToolchain(InProcessEmitToolchain.Instance)
    .WithId(quick ? "quick" : "full");

var config = DefaultConfig.Instance
    .AddJob(job)
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumn(StatisticColumn.Median, StatisticColumn.P95)
    .WithOptions(ConfigOptions.JoinSummary | ConfigOptions.DisableLogFile);

BenchmarkSwitcher.FromAssembly(typeof(InProcessApi).Assembly).Run(args.Where(a => a != "--quick").ToArray(), config);
