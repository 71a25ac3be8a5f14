import AirlockJournal
import AirlockRuntime
import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// The gateway's metrics through swift-metrics, kept in a registry of its own (no global
/// bootstrap) and written in Prometheus' text format by swift-prometheus.
public final class GatewayMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    let runtime: Runtime
    let inFlightGauge: CoreMetrics.Gauge
    let queueGauge: CoreMetrics.Gauge
    let inDoubtGauge: CoreMetrics.Gauge
    let inFlightCount = Mutex(0)

    init(runtime: Runtime) {
        self.runtime = runtime
        var factory = PrometheusMetricsFactory(registry: registry)
        let milliseconds: [Int64] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000]
        factory.durationHistogramBuckets["airlock_tool_call_duration_seconds"] = milliseconds.map { Duration.milliseconds($0) }
        self.factory = factory
        inFlightGauge = CoreMetrics.Gauge(label: "airlock_calls_in_flight", dimensions: [], factory: factory)
        queueGauge = CoreMetrics.Gauge(label: "airlock_queue_depth", dimensions: [], factory: factory)
        inDoubtGauge = CoreMetrics.Gauge(label: "airlock_steps_in_doubt", dimensions: [], factory: factory)
        inFlightGauge.record(0)
        queueGauge.record(0)
    }

    /// One answered `tools/call`: counted by tool and status; timed when something ran.
    func recordCall(tool: String, status: String, seconds: Double?) {
        CoreMetrics.Counter(label: "airlock_tool_calls_total", dimensions: [("tool", tool), ("status", status)], factory: factory).increment()
        if let seconds {
            CoreMetrics.Timer(label: "airlock_tool_call_duration_seconds", dimensions: [("tool", tool)], factory: factory)
                .recordNanoseconds(Int64(seconds * 1e9))
        }
    }

    func inFlight(_ delta: Int) {
        let now = inFlightCount.withLock { value -> Int in
            value += delta
            return value
        }
        inFlightGauge.record(now)
    }

    func queueDepth(_ depth: Int) { queueGauge.record(depth) }

    /// The text for `/metrics`; the in-doubt count is read from the journal now.
    public func exposition() -> String {
        if let count = try? runtime.journal.steps(StepFilter(states: [.inDoubt])).count { inDoubtGauge.record(count) }
        return registry.emitToString()
    }
}
