// Test classes run in parallel, except those of the InProcessApp collection, which run one after another (see there).
// Most tests wait on scrapes, timers and child processes rather than the CPU, so a few more run at once than there are
// cores (xUnit's default "conservative" algorithm starts a test only when one of these slots is free); each app
// start-up is CPU-bound, so not many more. Parallel runs once lost in-process apps' series (websocket_connections_total,
// queue_jobs_completed_total read 0): an app disposed before its meters were, see ApiFactory.DisposeAsync.
[assembly: CollectionBehavior(MaxParallelThreads = 3)]
