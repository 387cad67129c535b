// Prometheus metrics (issue 13, item 4): `brigade server --metrics-listen`
// serves /metrics in the text exposition format. The page is parsed as
// Prometheus would: every sample belongs to a declared metric, counters
// count what a generation did, the histogram's buckets are cumulative and
// end at its count, and the gauges say that the session ended.

#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <regex>
#include <sstream>

#include "common/swarm_fixture.h"
#include "net/address.h"

namespace brigade::test {
namespace {

using namespace swarm_fixture;
using namespace std::chrono_literals;

struct Page {
  std::map<std::string, std::string> types;  // metric -> counter | gauge | histogram
  std::map<std::string, double> samples;     // "name{labels}" -> value
};

// Parses the text format; fails the test on a line that is not a comment,
// a sample, or empty, and on a sample of no declared metric.
Page parse(const std::string& text) {
  Page page;
  std::istringstream in(text);
  std::string line;
  const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$)");
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind("# HELP ", 0) == 0) continue;
    std::smatch m;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      page.types[name] = type;
      continue;
    }
    if (!std::regex_match(line, m, sample)) {
      ADD_FAILURE() << "not a sample: '" << line << "'";
      continue;
    }
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (!page.types.count(family) && family.size() > s.size() &&
          family.compare(family.size() - s.size(), s.size(), s) == 0)
        family = family.substr(0, family.size() - s.size());
    }
    EXPECT_TRUE(page.types.count(family)) << "sample of an undeclared metric: " << line;
    page.samples[std::string(m[1]) + std::string(m[2])] = std::stod(m[3]);
  }
  return page;
}

Page scrape(const HostPort& at) {
  httplib::Client client(at.host, at.port);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  const auto response = client.Get("/metrics");
  if (!response) throw std::runtime_error("no answer from /metrics at " + at.str());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_EQ(client.Get("/elsewhere")->status, 404);
  return parse(response->body);
}

TEST(Metrics, TheServersPageCountsWhatAGenerationDid) {
  TempDir dir("brigade-metrics");
  const auto model = make_small_model(dir, model_options());
  const HostPort metrics{"127.0.0.1", free_tcp_port()};
  const auto swarm = start_swarm(
      model, {{0, 6, {"--metrics-listen", metrics.str(), "--cache-tokens", "2048"}}}, dir / "logs");
  EXPECT_NE(swarm->server(0).log().find("metrics at http://" + metrics.str() + "/metrics"),
            std::string::npos)
      << swarm->server(0).log();
  const Page before = scrape(metrics);
  EXPECT_EQ(before.types.at("brigade_steps_total"), "counter");
  EXPECT_EQ(before.types.at("brigade_step_seconds"), "histogram");
  EXPECT_EQ(before.types.at("brigade_sessions_open"), "gauge");

  // A 4-token prompt and 6 new tokens: 1 prefill step and 5 decode steps of
  // one token (the last token is never fed back), 9 tokens in all.
  const Prompt prompt = id_prompt("5,17,42,99");
  swarm_generate(model, swarm->dht_address(), prompt, 6, Output::kJson);
  const Page after = scrape(metrics);
  const auto delta = [&](const std::string& sample) {
    return after.samples.at(sample) - before.samples.at(sample);
  };
  EXPECT_EQ(delta("brigade_steps_total"), 6);
  EXPECT_EQ(delta("brigade_tokens_total"), 9);
  EXPECT_EQ(delta("brigade_step_seconds_count"), 6);
  EXPECT_GT(delta("brigade_step_seconds_sum"), 0);
  // Cumulative buckets, ending at the count.
  double previous = 0;
  for (const char* le : {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                         "1", "2.5", "10", "+Inf"}) {
    const double bucket =
        after.samples.at(std::string("brigade_step_seconds_bucket{le=\"") + le + "\"}");
    EXPECT_GE(bucket, previous) << le;
    previous = bucket;
  }
  EXPECT_EQ(previous, after.samples.at("brigade_step_seconds_count"));
  // The session ended and gave its cache back; nothing was refused.
  EXPECT_EQ(after.samples.at("brigade_sessions_open"), 0);
  EXPECT_EQ(after.samples.at("brigade_cache_tokens_left"), 2048);
  EXPECT_EQ(after.samples.at("brigade_cache_tokens_used"), 0);
  EXPECT_EQ(after.samples.at("brigade_sessions_refused_total"), 0);
  EXPECT_EQ(after.samples.at("brigade_recoveries_served_total"), 0);
  // A second server cannot share the metrics port (no SO_REUSEPORT there
  // either), and fails before it announces anything.
  expect_failure({"server", "--model", model.string(), "--blocks", "0:6", "--initial-peers",
                  swarm->dht_address(), "--metrics-listen", metrics.str()},
                 "--metrics-listen " + metrics.str() + ": cannot listen there");
  EXPECT_EQ(swarm_status(swarm->dht_address()).at("servers").size(), 1u);
  for (const char* result : {"sent", "send_failed", "accepted", "late", "dropped", "mismatched"})
    EXPECT_EQ(after.samples.count(std::string("brigade_pushes_total{result=\"") + result + "\"}"),
              1u)
        << result;
}

}  // namespace
}  // namespace brigade::test
