"""Benchmarks, run by ``renkou bench NAME [options]``. Each module has ``run(argv, out)`` and prints its figures
with the ratio against a baseline measured in the same run. They are never part of the test suite."""

BENCHMARKS = {
    "demo": "persons generated per second by the synthetic county generator",
    "exchange": "inter-county exchange over NATS JetStream: messages/s end to end and p95 latency",
    "search": "person search over HTTP: p50/p95 latency and requests per second with concurrent clients",
}
