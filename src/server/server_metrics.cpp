#include "server/server_metrics.h"

#include <fmt/format.h>

namespace brigade {

void LatencyHistogram::observe(double seconds) {
  size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket]) ++bucket;
  ++counts[bucket];
  sum_seconds += seconds;
  ++count;
}

namespace {

// One metric's HELP and TYPE lines and its samples.
void metric(std::string& out, const char* name, const char* type, const char* help,
            const std::string& samples) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{}", name, help, name, type, samples);
}

std::string sample(const char* name, double value, const std::string& labels = "") {
  return fmt::format("{}{} {}\n", name, labels.empty() ? "" : "{" + labels + "}", value);
}

}  // namespace

std::string prometheus_text(const ServerMetrics& m) {
  std::string out;
  const auto& info = m.info;
  metric(out, "brigade_server_info", "gauge", "The server's identity and span (value 1).",
         sample("brigade_server_info", 1,
                fmt::format(R"(peer="{}",model="{}",start="{}",end="{}",version="{}")", info.peer(),
                            info.model(), info.start(), info.end(), info.version())));
  metric(out, "brigade_steps_total", "counter", "Steps computed (client steps and pushes).",
         sample("brigade_steps_total", static_cast<double>(m.steps)));
  metric(out, "brigade_tokens_total", "counter", "Tokens computed over all steps.",
         sample("brigade_tokens_total", static_cast<double>(m.tokens)));
  std::string buckets;
  uint64_t cumulative = 0;
  for (size_t b = 0; b < LatencyHistogram::kBounds.size(); ++b) {
    cumulative += m.step_latency.counts[b];
    buckets += sample("brigade_step_seconds_bucket", static_cast<double>(cumulative),
                      fmt::format(R"(le="{}")", LatencyHistogram::kBounds[b]));
  }
  buckets += sample("brigade_step_seconds_bucket", static_cast<double>(m.step_latency.count),
                    R"(le="+Inf")");
  buckets += sample("brigade_step_seconds_sum", m.step_latency.sum_seconds);
  buckets += sample("brigade_step_seconds_count", static_cast<double>(m.step_latency.count));
  metric(out, "brigade_step_seconds", "histogram",
         "A step's time on the server, waiting for its pass included.", buckets);
  metric(out, "brigade_sessions_open", "gauge", "Open sessions.",
         sample("brigade_sessions_open", info.sessions()));
  metric(out, "brigade_cache_tokens_left", "gauge", "KV-cache tokens not reserved by sessions.",
         sample("brigade_cache_tokens_left", static_cast<double>(info.cache_tokens_left())));
  metric(out, "brigade_cache_tokens_used", "gauge", "KV-cache tokens reserved by sessions.",
         sample("brigade_cache_tokens_used",
                static_cast<double>(m.cache_tokens - info.cache_tokens_left())));
  const auto& p = info.push();
  std::string pushes;
  for (const auto& [result, value] :
       {std::pair{"sent", p.sent()}, std::pair{"send_failed", p.send_failed()},
        std::pair{"accepted", p.accepted()}, std::pair{"late", p.late()},
        std::pair{"dropped", p.dropped()}, std::pair{"mismatched", p.mismatched()}}) {
    pushes += sample("brigade_pushes_total", static_cast<double>(value),
                     fmt::format(R"(result="{}")", result));
  }
  metric(out, "brigade_pushes_total", "counter",
         "Pushes sent to the next server and received from the previous one, by result.", pushes);
  metric(out, "brigade_sessions_refused_total", "counter",
         "Session opens refused (cache full, caps, bad requests).",
         sample("brigade_sessions_refused_total", static_cast<double>(m.sessions_refused)));
  metric(out, "brigade_recoveries_served_total", "counter",
         "Sessions whose first step replayed a failed server's history.",
         sample("brigade_recoveries_served_total", static_cast<double>(m.recoveries_served)));
  return out;
}

}  // namespace brigade
