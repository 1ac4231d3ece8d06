// Test classes run one after another. OpenTelemetry's meter listener subscribes by meter name, so two in-process app
// instances alive at once would each see the other's Api.* measurements and the exact-count assertions would break.
// (In production one process hosts one app.) Within a class, tests still drive the app concurrently where they mean to.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
