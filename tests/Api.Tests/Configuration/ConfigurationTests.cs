using Api.Configuration;
using Api.Data;
//#if (sendsEmail)
using Api.Email;
//#endif
using Api.Observability;
using Api.Queue;
//#if (realtime)
using Api.Realtime;
//#endif
using Api.Security;
//#if (users)
using Api.Users;
//#endif
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Api.Tests.Configuration;

/// <summary>
/// Every settings section goes through AddValidatedOptions: each rule below is checked on the real options classes, as
/// the user would write the keys; the process tests show what a person sees when the real app is started with one.
/// </summary>
[Collection(InProcessApp.Name)]
public sealed class ConfigurationTests
{
    /// <summary>The settings, as the user would write them, through the app's one options mechanism for one section.</summary>
    private static ServiceProvider Provider(Type options, string section, params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        typeof(ValidatedOptions).GetMethod(nameof(ValidatedOptions.AddValidatedOptions))!.MakeGenericMethod(options).Invoke(null, [services, section]);
        return services.BuildServiceProvider();
    }

    private static (T? Options, IReadOnlyList<string> Problems) Bind<T>(string section, params (string Key, string Value)[] settings) where T : class
    {
        using var provider = Provider(typeof(T), section, settings);
        var problems = ConfigurationErrors.Problems(provider, typeof(T));
        return problems.Count == 0 ? (provider.GetRequiredService<IOptions<T>>().Value, []) : (null, problems);
    }

    /// <summary>One bad value in each section of the app (nested ones too), as the binder and the validation see it.</summary>
    [Theory]
    [InlineData(typeof(DataOptions), "Data:CommandTimeoutSeconds", "soon", "Data:CommandTimeoutSeconds must be a whole number, got 'soon'")]
    [InlineData(typeof(RequestLimitsOptions), "Api:MaxRequestBodyBytes", "big", "Api:MaxRequestBodyBytes must be a whole number, got 'big'")]
    [InlineData(typeof(RequestLimitsOptions), "Api:MaxRequestBodyBytes", "10", "Api:MaxRequestBodyBytes must be between 1024 and 1073741824, got 10")]
    [InlineData(typeof(RateLimitOptions), "RateLimit:Enabled", "maybe", "RateLimit:Enabled must be true or false, got 'maybe'")]
    [InlineData(typeof(RateLimitOptions), "RateLimit:SignUpsPerMinute", "0", "RateLimit:SignUpsPerMinute must be between 1 and 1000000, got 0")]
    [InlineData(typeof(ForwardedHeadersSettings), "ForwardedHeaders:KnownProxies", "10.0.0.1", "ForwardedHeaders:KnownProxies must be a list, written ForwardedHeaders:KnownProxies:0, ForwardedHeaders:KnownProxies:1, …; got '10.0.0.1'")]
    [InlineData(typeof(HealthOptions), "Health:CheckTimeoutMilliseconds", "5", "Health:CheckTimeoutMilliseconds must be between 10 and 30000, got 5")]
//#if (users)
    [InlineData(typeof(UsersOptions), "Users:TotalMaxAge", "soon", "Users:TotalMaxAge must be a duration such as 00:00:30, got 'soon'")]
//#endif
    [InlineData(typeof(MetricsOptions), "Metrics:Path", "metrics-without-slash", "Metrics:Path must start with '/'")]
    [InlineData(typeof(MetricsOptions), "Metrics:Port", "abc", "Metrics:Port must be a whole number, got 'abc'")]
    [InlineData(typeof(QueueOptions), "Queue:StorageTimeoutMilliseconds", "1", "Queue:StorageTimeoutMilliseconds must be between 100 and 60000, got 1")]
    [InlineData(typeof(QueueOptions), "Queue:Retry:DelaySeconds", "-3", "Queue:Retry:DelaySeconds must be between 1 and 3600, got -3")]
    [InlineData(typeof(QueueOptions), "Queue:Retry:Attempts", "101", "Queue:Retry:Attempts must be between 0 and 100, got 101")]
    [InlineData(typeof(QueueOptions), "Queue:Dashboard:Path", "hangfire", "Queue:Dashboard:Path must start with '/' and name a path")]
    [InlineData(typeof(QueueOptions), "Queue:Workers", "0", "Queue:Workers must be between 1 and 1000, got 0")]
    // A value of the wrong type names its key, not a class.
    [InlineData(typeof(QueueOptions), "Queue:Workers", "abc", "Queue:Workers must be a whole number, got 'abc'")]
    [InlineData(typeof(QueueOptions), "Queue:Retry:DelaySeconds", "1.5", "Queue:Retry:DelaySeconds must be a whole number, got '1.5'")]
    [InlineData(typeof(QueueOptions), "Queue:Dashboard", "on", "Queue:Dashboard is a section of settings, not a value; got 'on'")]
//#if (sendsEmail)
    [InlineData(typeof(EmailOptions), "Email:Outbox:PollingMilliseconds", "fast", "Email:Outbox:PollingMilliseconds must be a whole number, got 'fast'")]
    [InlineData(typeof(EmailOptions), "Email:Smtp:Port", "99999", "Email:Smtp:Port must be between 1 and 65535, got 99999")]
    [InlineData(typeof(EmailOptions), "Email:Smtp:TimeoutSeconds", "0", "Email:Smtp:TimeoutSeconds must be between 1 and 600, got 0")]
    [InlineData(typeof(EmailOptions), "Email:Outbox:BatchSize", "0", "Email:Outbox:BatchSize must be between 1 and 10000, got 0")]
    [InlineData(typeof(EmailOptions), "Email:From", "nope", "Email:From must be an email address, got 'nope'")]
    [InlineData(typeof(EmailOptions), "Email:PickupDirectory", "", "Email:PickupDirectory is required")]
//#endif
//#if (realtime)
    [InlineData(typeof(RealtimeOptions), "Realtime:RedisTimeout", "00:05:00", "Realtime:RedisTimeout must be between 00:00:00.100 and 00:01:00, got 00:05:00")]
//#endif
    public void A_bad_value_in_any_section_names_its_key(Type options, string key, string value, string expected)
    {
        using var provider = Provider(options, (string)options.GetField("Section")!.GetValue(null)!, (key, value));

        Assert.Equal([expected], ConfigurationErrors.Problems(provider, options));
    }

    [Fact]
    public void The_key_is_named_as_the_user_spelled_it()
    {
        var (_, problems) = Bind<QueueOptions>(QueueOptions.Section, ("Queue:RETRY:attempts", "101"));

        Assert.Equal(["Queue:RETRY:attempts must be between 0 and 100, got 101"], problems);
    }

    [Fact]
    public void Several_bad_values_are_all_reported()
    {
        var (_, problems) = Bind<QueueOptions>(QueueOptions.Section, ("Queue:Workers", "0"), ("Queue:Retry:DelaySeconds", "-3"));

        Assert.Equal(2, problems.Count);
    }

    [Fact]
    public void A_configured_list_replaces_the_default_list()
    {
        var (options, problems) = Bind<MetricsOptions>(MetricsOptions.Section, ("Metrics:DurationBuckets:0", "30"), ("Metrics:DurationBuckets:1", "60"));

        Assert.Empty(problems);
        Assert.Equal([30, 60], options!.DurationBuckets);
    }

    [Fact]
    public void Without_configuration_the_defaults_in_code_stay()
    {
        var (options, problems) = Bind<MetricsOptions>(MetricsOptions.Section);

        Assert.Empty(problems);
        Assert.Equal(new MetricsOptions().DurationBuckets, options!.DurationBuckets);
    }

    [Fact]
    public void A_list_written_as_one_value_names_its_key()
    {
        var (_, problems) = Bind<MetricsOptions>(MetricsOptions.Section, ("Metrics:DurationBuckets", "abc"));

        Assert.Equal(["Metrics:DurationBuckets must be a list, written Metrics:DurationBuckets:0, Metrics:DurationBuckets:1, …; got 'abc'"], problems);
    }

    [Theory]
    [InlineData("0.2", "0.1", "Metrics:DurationBuckets must be positive and strictly increasing, got [0.2, 0.1]")]
    [InlineData("1", "1", "Metrics:DurationBuckets must be positive and strictly increasing, got [1, 1]")]
    [InlineData("0", "1", "Metrics:DurationBuckets must be positive and strictly increasing, got [0, 1]")]
    [InlineData("0.5", "x", "Metrics:DurationBuckets:1 must be a number, got 'x'")]
    public void Buckets_must_be_positive_numbers_in_strictly_increasing_order(string first, string second, string expected)
    {
        var (_, problems) = Bind<MetricsOptions>(MetricsOptions.Section, ("Metrics:DurationBuckets:0", first), ("Metrics:DurationBuckets:1", second));

        Assert.Equal([expected], problems);
    }

//#if (realtime)
    [Fact]
    public void A_rule_between_two_settings_names_the_key_to_change()
    {
        var (_, problems) = Bind<RealtimeOptions>(RealtimeOptions.Section, ("Realtime:KeepAliveInterval", "00:00:20"));

        Assert.Equal(["Realtime:ClientTimeoutInterval must be at least twice Realtime:KeepAliveInterval (00:00:20), got 00:00:30"], problems);
    }

    [Fact]
    public void A_duration_that_is_not_one_names_its_key()
    {
        var (_, problems) = Bind<RealtimeOptions>(RealtimeOptions.Section, ("Realtime:KeepAliveInterval", "soon"));

        Assert.Equal(["Realtime:KeepAliveInterval must be a duration such as 00:00:30, got 'soon'"], problems);
    }
//#endif

    [Fact]
    public void Every_options_section_of_the_app_goes_through_the_one_mechanism()
    {
        var root = Api.Tests.Monitoring.MonitoringConfig.RepositoryFile("src/Api");
        var sources = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(file => Path.GetRelativePath(root, file), File.ReadAllText);

        // The framework binds (BindConfiguration, in AddValidatedOptions alone); no feature binds or indexes a section itself.
        Assert.Equal(["Configuration/ValidatedOptions.cs"], sources.Where(s => s.Value.Contains(".BindConfiguration(", StringComparison.Ordinal)).Select(s => s.Key));
        Assert.DoesNotContain(sources, s => s.Value.Contains(".Get<", StringComparison.Ordinal) && !s.Key.StartsWith("Configuration", StringComparison.Ordinal) && s.Value.Contains("GetSection(", StringComparison.Ordinal));
        Assert.DoesNotContain(sources, s => s.Value.Contains("ValidateDataAnnotations()", StringComparison.Ordinal));
        Assert.True(sources.Values.Sum(source => source.Split("AddValidatedOptions<").Length - 1) >= 5, "Metrics, Queue, Email, Realtime and OpenApi sections");
    }
}

/// <summary>What a person sees when the real app is started with a bad value: one line naming the key, exit code 1.</summary>
public sealed class ConfigurationStartUpTests
{
    [Theory]
//#if (sendsEmail)
    [InlineData("Email:Smtp:Port", "99999", "Email:Smtp:Port must be between 1 and 65535, got 99999")]
//#endif
    [InlineData("Metrics:DurationBuckets", "abc", "Metrics:DurationBuckets must be a list, written Metrics:DurationBuckets:0, Metrics:DurationBuckets:1, …; got 'abc'")]
    [InlineData("Queue:Retry:DelaySeconds", "-3", "Queue:Retry:DelaySeconds must be between 1 and 3600, got -3")]
    [InlineData("Data:CommandTimeoutSeconds", "soon", "Data:CommandTimeoutSeconds must be a whole number, got 'soon'")]
    [InlineData("Api:MaxRequestBodyBytes", "big", "Api:MaxRequestBodyBytes must be a whole number, got 'big'")]
    [InlineData("Metrics:Port", "abc", "Metrics:Port must be a whole number, got 'abc'")]
    [InlineData("Logging:Console:FormatterName", "bogus", "Logging:Console:FormatterName must be one of json, json-trace, simple, systemd, got 'bogus'")]
    [InlineData("Logging:LogLevel:Default", "loud", "Logging:LogLevel:Default must be one of Trace, Debug, Information, Warning, Error, Critical, None, got 'loud'")]
    [InlineData("Queue:Dashboard:AllowLocalRequestsWithoutKey", "true", "Queue:Dashboard:AllowLocalRequestsWithoutKey is for local development only (ASPNETCORE_ENVIRONMENT=Development): set a dashboard key instead.")]
//#if (realtime)
    [InlineData("Realtime:ClientTimeoutInterval", "00:00:15", "Realtime:ClientTimeoutInterval must be at least twice Realtime:KeepAliveInterval (00:00:15), got 00:00:15")]
//#endif
    public async Task A_bad_value_stops_start_up_with_exit_code_1_and_one_line_naming_the_key(string key, string value, string expected)
    {
        var (exitCode, output) = await TempApp.RunUntilExitAsync(new Dictionary<string, string?> { [key] = value });

        Assert.Equal(1, exitCode);
        Assert.Equal(expected, output.TrimEnd());
    }

    [Fact]
    public async Task Configured_buckets_replace_the_defaults_in_the_exported_histogram()
    {
        await using var app = await TempApp.StartAsync(new Dictionary<string, string?>
        {
            ["Metrics:DurationBuckets:0"] = "30",
            ["Metrics:DurationBuckets:1"] = "60",
        });
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        await client.GetAsync("/");

        var scrape = await MetricsScrape.FetchAsync(client);

        var bounds = scrape.Named(HttpMetrics.RequestDuration + "_bucket").Where(s => s.Label("route") == "/").Select(s => s.Label("le")).ToList();
        Assert.Equal(["30", "60", "+Inf"], bounds);
    }
}

/// <summary>Two instances on one SQLite file would steal each other's welcome emails: the second one refuses to start.</summary>
public sealed class SqliteSharingTests
{
    [Fact]
    public async Task A_second_instance_on_the_same_sqlite_file_stops_with_one_line_and_exit_code_1()
    {
        await using var first = await TempApp.StartAsync(name: "sqlite-lock");
        var database = first.Database;

        var (exitCode, output) = await AppProcess.RunUntilExitAsync(first.Folder, first.Settings);

        Assert.Equal(1, exitCode);
        Assert.Equal($"ConnectionStrings:Sqlite: {database} is in use by another instance (it holds {database}.lock); give each instance its own file, or run several on ConnectionStrings:Postgres", output.TrimEnd());
        Assert.False(first.Process.HasExited);
    }
}
