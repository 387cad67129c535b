// Fair use in the server's core, in-process (DESIGN.md, "Fair use"): the
// cache budget's queue, a client's share of sessions and cache, idle
// sessions closed for waiting opens, the bytes of unfinished tensors, and the
// compute passes that batch every session's steps, long ones a chunk per
// pass, in turn with everyone else.
// fair_use_test.cpp runs the same attacks against a real server over gRPC.

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "net/push.h"
#include "server/cache_budget.h"
#include "server/host_fixture.h"
#include "server/session_host.h"
#include "server/step_batcher.h"

namespace brigade {
namespace {

using namespace std::chrono_literals;

// Polls `done` (no time limit of its own: the test's timeout is the limit).
template <class Predicate>
void wait_until(Predicate done) {
  while (!done()) std::this_thread::sleep_for(1ms);
}

template <class Function>
ErrorKind refusal_of(Function f, std::string* what) {
  try {
    f();
  } catch (const Error& e) {
    *what = e.what();
    return e.kind();
  }
  *what = "(no error)";
  return ErrorKind::kInvalid;
}

// --- the cache budget's queue -------------------------------------------------

TEST(CacheBudgetQueue, WaitersAreServedInArrivalOrderAndTheQueueIsBounded) {
  CacheBudget budget(10, 2);
  budget.acquire(10, 0ms);
  auto waiter = [&](int64_t tokens) { budget.acquire(tokens, 600s); };
  auto big = std::async(std::launch::async, waiter, 6);
  wait_until([&] { return budget.waiting() == 1; });
  auto small = std::async(std::launch::async, waiter, 1);
  wait_until([&] { return budget.waiting() == 2; });
  EXPECT_EQ(budget.shortfall(), 7);
  // A third waiter is refused at once, naming the queue (not after waiting).
  std::string what;
  EXPECT_EQ(refusal_of([&] { budget.acquire(1, 10ms); }, &what), ErrorKind::kRefused);
  EXPECT_EQ(what, "cache full, 2 opens already waiting");
  // One token free: enough for the small open, but the big one came first
  // and the small one waits behind it.
  budget.release(1);
  EXPECT_EQ(budget.waiting(), 2);
  // Six free: the big open takes them all, and the small one still waits
  // (had it gone first, five would not have been enough for the big one).
  budget.release(5);
  big.get();
  EXPECT_EQ(budget.left(), 0);
  EXPECT_EQ(budget.waiting(), 1);
  budget.release(4);
  small.get();
  EXPECT_EQ(budget.left(), 3);
  EXPECT_EQ(budget.waiting(), 0);
}

TEST(CacheBudgetQueue, AWaiterThatGivesUpLetsTheNextOneIn) {
  CacheBudget budget(10, 4);
  budget.acquire(10, 0ms);
  std::string what;
  auto impatient = std::async(std::launch::async,
                              [&] { return refusal_of([&] { budget.acquire(8, 50ms); }, &what); });
  wait_until([&] { return budget.waiting() >= 1; });
  auto patient = std::async(std::launch::async, [&] { budget.acquire(1, 600s); });
  budget.release(1);  // only for the second, once the first gave up
  EXPECT_EQ(impatient.get(), ErrorKind::kRefused);
  EXPECT_NE(what.find("cache full: a session needs 8 tokens"), std::string::npos) << what;
  patient.get();
  EXPECT_EQ(budget.left(), 0);
  EXPECT_EQ(budget.waiting(), 0);
}

// --- sessions over SessionHost --------------------------------------------------

class DiscardPushes final : public PushSink {
 public:
  void push(const rpc::Hop&, int64_t, int32_t, const WireTensor&) override {}
};

class FairShare : public test::HostFixture {
 protected:
  std::unique_ptr<SessionHost> make_host(const ServerOptions& options) {
    return HostFixture::make_host(options, pushes_);
  }

  WireTensor input(int batch, int tokens, int seed) const {
    std::vector<float> values(static_cast<size_t>(batch) * tokens * config_->hidden_size);
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] = 0.02f * static_cast<float>((i * 13 + seed * 7) % 11) - 0.1f;
    }
    return make_wire_tensor(values, {batch, tokens, config_->hidden_size}, rpc::WIRE_F32);
  }

  // What the local engine gives for `steps` of one session, one after another.
  std::vector<std::vector<float>> local(const std::vector<WireTensor>& steps, int max_length) {
    std::vector<std::vector<float>> out;
    KvCache cache = span_->make_cache(static_cast<int>(steps.front().shape[0]), max_length);
    for (const auto& step : steps) {
      std::vector<float> hidden = step.values();
      span_->forward(hidden, static_cast<int>(step.shape[0]), static_cast<int>(step.shape[1]),
                     cache.length(), cache);
      out.push_back(hidden);
    }
    return out;
  }

  // One client's session in-process: the stream, its results, whether the
  // host cancelled it.
  struct Client {
    std::unique_ptr<SessionHost::Stream> stream;
    std::vector<StepOutcome> results;
    std::atomic<bool> cancelled{false};
    int position = 0;
    int64_t next_step = 0;

    void step(const WireTensor& x) {
      stream->on_request(test::step_request(next_step++, position, split_chunks(x).front()));
      position += static_cast<int>(x.shape[1]);
    }
  };

  std::unique_ptr<Client> open(SessionHost& host, const std::string& peer, const std::string& id,
                               int max_length) {
    auto client = std::make_unique<Client>();
    Client* c = client.get();
    client->stream = host.open(
        peer, open_all(id, max_length), [c](const StepOutcome& o) { c->results.push_back(o); },
        [c] { c->cancelled = true; });
    return client;
  }

  DiscardPushes pushes_;
};

TEST_F(FairShare, OneClientGetsAtMostItsShareOfTheCacheAndOfSessions) {
  ServerOptions options;
  options.cache_tokens = 128;
  options.peer_cache_share = 0.25;  // 32 tokens a client
  options.max_sessions_per_peer = 2;
  options.alloc_wait = 0ms;
  auto host = make_host(options);
  auto hog = open(*host, "hog", "hog-1", 32);
  std::string what;
  EXPECT_EQ(refusal_of([&] { open(*host, "hog", "hog-2", 1); }, &what), ErrorKind::kRefused);
  EXPECT_EQ(what,
            "cache full for this client: a session needs 1 tokens, hog holds 32 of the 32 one "
            "client may reserve");
  // Another client is served, up to its own session cap.
  auto a = open(*host, "honest", "a", 4);
  auto b = open(*host, "honest", "b", 4);
  EXPECT_EQ(refusal_of([&] { open(*host, "honest", "c", 4); }, &what), ErrorKind::kRefused);
  EXPECT_EQ(what, "too many sessions: honest holds 2, the most one client may hold");
  const std::vector<WireTensor> steps = {input(1, 3, 1), input(1, 1, 2)};
  for (const auto& x : steps) a->step(x);
  const auto expected = local(steps, 4);
  ASSERT_EQ(a->results.size(), 2u);
  for (size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(a->results[i].output.values(), expected[i]);
  // A session closed gives the share back.
  hog.reset();
  auto again = open(*host, "hog", "hog-3", 32);
  EXPECT_EQ(host->cache_tokens_left(), 128 - 32 - 8);
}

TEST_F(FairShare, IdleSessionsAreClosedForAWaitingOpenLongestIdleFirst) {
  ServerOptions options;
  options.cache_tokens = 64;
  options.alloc_wait = 30s;  // ample: the idle hog is closed as soon as the open queues
  options.idle_under_pressure = 0ms;
  auto host = make_host(options);
  // Two hogs fill the cache, each kept "alive" by a step, the first longest ago.
  auto first = open(*host, "hog-1", "first", 32);
  first->step(input(1, 1, 1));
  auto second = open(*host, "hog-2", "second", 32);
  second->step(input(1, 1, 2));
  EXPECT_EQ(host->cache_tokens_left(), 0);
  // An honest open waits; the longest idle hog is cancelled, and only it.
  auto honest = std::async(std::launch::async, [&] { return open(*host, "honest", "h", 16); });
  wait_until([&] { return first->cancelled || honest.wait_for(0s) == std::future_status::ready; });
  ASSERT_TRUE(first->cancelled) << "the open gave up before an idle session was closed";
  EXPECT_FALSE(second->cancelled);
  first.reset();  // what the transport does with a cancelled stream
  const auto served = honest.get();
  EXPECT_FALSE(second->cancelled);
  EXPECT_EQ(host->cache_tokens_left(), 64 - 32 - 16);
  // Both surviving sessions compute exactly what the local engine does.
  const std::vector<WireTensor> steps = {input(1, 4, 3), input(1, 1, 4)};
  for (const auto& x : steps) served->step(x);
  const auto expected = local(steps, 16);
  ASSERT_EQ(served->results.size(), 2u);
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(served->results[i].output.values(), expected[i]);
  }
  second->step(input(1, 1, 5));
  EXPECT_EQ(second->results.back().output.values(),
            local({input(1, 1, 2), input(1, 1, 5)}, 32).back());
}

TEST_F(FairShare, SessionsInUseAreNotClosedForWaitingOpens) {
  ServerOptions options;
  options.cache_tokens = 32;
  options.peer_cache_share = 1;
  options.alloc_wait = 200ms;
  options.idle_under_pressure = 600s;
  auto host = make_host(options);
  auto busy = open(*host, "busy", "busy", 32);
  std::string what;
  EXPECT_EQ(refusal_of([&] { open(*host, "honest", "h", 8); }, &what), ErrorKind::kRefused);
  EXPECT_NE(what.find("cache full: a session needs 8 tokens, 0 of 32 are free after waiting"),
            std::string::npos)
      << what;
  EXPECT_FALSE(busy->cancelled);
}

TEST_F(FairShare, UnfinishedTensorsShareOneByteBudget) {
  ServerOptions options;
  options.cache_tokens = 64;
  options.peer_cache_share = 1;
  options.max_pending_bytes = 2 * 4 * 64;  // two tokens' worth of f32 hidden states
  auto host = make_host(options);
  const int hidden = config_->hidden_size;
  ASSERT_EQ(hidden, 64);
  // The first chunk of a two-chunk, two-token tensor: one token of data.
  const WireTensor x = input(1, 2, 1);
  auto chunk = [&](uint32_t index) {
    rpc::TensorChunk c;
    if (index == 0) {
      for (int64_t d : x.shape) c.add_shape(d);
    }
    c.set_dtype(rpc::WIRE_F32);
    c.set_chunk_index(index);
    c.set_num_chunks(2);
    c.set_data(x.bytes.substr(index * 4 * hidden, 4 * hidden));
    return c;
  };
  // A Forward tensor and a session's step hold the budget between them.
  auto forward = host->forward_assembler(rpc::WIRE_F32);
  EXPECT_FALSE(forward->add(chunk(0)));
  auto session = open(*host, "client", "s", 8);
  session->stream->on_request(test::step_request(0, 0, chunk(0)));
  // A third unfinished tensor is refused, whether Forward or step.
  auto refused = host->forward_assembler(rpc::WIRE_F32);
  std::string what;
  EXPECT_EQ(refusal_of([&] { refused->add(chunk(0)); }, &what), ErrorKind::kRefused);
  EXPECT_NE(what.find("unfinished tensors hold 512 of the 512 bytes"), std::string::npos) << what;
  auto other = open(*host, "client", "other", 8);
  EXPECT_EQ(
      refusal_of([&] { other->stream->on_request(test::step_request(0, 0, chunk(0))); }, &what),
      ErrorKind::kRefused);
  EXPECT_NE(what.find("session other: step 0: unfinished tensors"), std::string::npos) << what;
  // A whole tensor in one message never counts: the other session computes.
  other = open(*host, "client", "other-2", 8);
  other->step(x);
  EXPECT_EQ(other->results.size(), 1u);
  // Finishing a tensor or dropping its stream gives its bytes back.
  session->stream->on_request(test::step_request(0, 0, chunk(1)));
  ASSERT_EQ(session->results.size(), 1u);
  EXPECT_EQ(session->results[0].output.values(), local({x}, 8)[0]);
  forward.reset();
  auto later = host->forward_assembler(rpc::WIRE_F32);
  EXPECT_FALSE(later->add(chunk(0)));
  auto also = host->forward_assembler(rpc::WIRE_F32);
  EXPECT_FALSE(also->add(chunk(0)));
  EXPECT_TRUE(also->add(chunk(1)));
  EXPECT_EQ(also->take().bytes, x.bytes);
}

// --- compute ------------------------------------------------------------------

// Runs `steps` (position = the cache's length) on a fresh cache with
// `compute`; returns the outputs and the cache.
std::pair<std::vector<std::vector<float>>, KvCache> run_steps(StepBatcher& compute,
                                                              const BlockSpan& span,
                                                              const std::vector<WireTensor>& steps,
                                                              int max_length,
                                                              const std::vector<int>& positions) {
  const int batch = static_cast<int>(steps.front().shape[0]);
  KvCache cache = span.make_cache(batch, max_length);
  std::vector<std::vector<float>> outputs;
  for (size_t i = 0; i < steps.size(); ++i) {
    std::vector<float> hidden = steps[i].values();
    compute.forward_range(span, span.start(), span.end(), hidden, batch,
                          static_cast<int>(steps[i].shape[1]), positions[i], cache);
    outputs.push_back(std::move(hidden));
  }
  return {std::move(outputs), std::move(cache)};
}

std::vector<float> cache_contents(KvCache& cache, int kv_heads, int head_dim) {
  std::vector<float> out;
  const size_t n = static_cast<size_t>(cache.length()) * head_dim;
  for (int layer = 0; layer < cache.num_layers(); ++layer) {
    for (int b = 0; b < cache.batch(); ++b) {
      for (int h = 0; h < kv_heads; ++h) {
        out.insert(out.end(), cache.keys(layer, b, h), cache.keys(layer, b, h) + n);
        out.insert(out.end(), cache.values(layer, b, h), cache.values(layer, b, h) + n);
      }
    }
  }
  return out;
}

TEST_F(FairShare, AChunkedStepIsBitwiseTheWholeStep) {
  // Batch 2 (chunks gather rows from both sequences), a 40-token prefill, a
  // decode step, a rollback to 10 and a 23-token step from there.
  const std::vector<WireTensor> steps = {input(2, 40, 1), input(2, 1, 2), input(2, 23, 3)};
  const std::vector<int> positions = {0, 40, 10};
  StepBatcher whole(1 << 20, 1 << 20), chunked(256, 7);
  auto [whole_out, whole_cache] = run_steps(whole, *span_, steps, 64, positions);
  auto [chunked_out, chunked_cache] = run_steps(chunked, *span_, steps, 64, positions);
  ASSERT_EQ(whole_out.size(), chunked_out.size());
  for (size_t i = 0; i < whole_out.size(); ++i) EXPECT_EQ(whole_out[i], chunked_out[i]) << i;
  EXPECT_EQ(whole_cache.length(), 33);
  EXPECT_EQ(chunked_cache.length(), 33);
  const int kv = config_->num_key_value_heads, dim = config_->head_dim;
  EXPECT_EQ(cache_contents(whole_cache, kv, dim), cache_contents(chunked_cache, kv, dim));
  // And the whole step is what the engine computes directly.
  KvCache direct = span_->make_cache(2, 64);
  std::vector<float> hidden = steps[0].values();
  span_->forward(hidden, 2, 40, 0, direct);
  EXPECT_EQ(hidden, whole_out[0]);
}

TEST_F(FairShare, SessionsAnswerBitwiseTheSameWithAnyChunkSize) {
  const std::vector<WireTensor> steps = {input(1, 30, 1), input(1, 1, 2), input(1, 9, 3)};
  std::vector<std::vector<StepOutcome>> results;
  for (int chunk : {1 << 20, 7, 1}) {
    ServerOptions options;
    options.cache_tokens = 64;
    options.peer_cache_share = 1;
    options.compute_chunk_tokens = chunk;
    auto host = make_host(options);
    auto client = open(*host, "client", "s", 64);
    for (const auto& x : steps) client->step(x);
    results.push_back(client->results);
  }
  for (size_t run = 1; run < results.size(); ++run) {
    ASSERT_EQ(results[run].size(), steps.size());
    for (size_t i = 0; i < steps.size(); ++i) {
      EXPECT_EQ(results[run][i].output.bytes, results[0][i].output.bytes) << run << " " << i;
      EXPECT_EQ(results[run][i].result.output_digest(), results[0][i].result.output_digest());
      EXPECT_EQ(results[run][i].result.length(), results[0][i].result.length());
    }
  }
}

TEST_F(FairShare, AStepWaitingBehindALongStepRunsBetweenItsChunks) {
  // Passes of at most 4 tokens. While the batcher is paused a 64-token step
  // (chunks of 4) queues, then a decode step of another session: the first
  // pass is the long step's first chunk, the second holds the decode step,
  // however slow or fast the machine.
  StepBatcher compute(4, 4);
  KvCache cache = span_->make_cache(1, 64), other = span_->make_cache(1, 8);
  const WireTensor x = input(1, 64, 1), y = input(1, 1, 2);
  std::vector<float> hidden = x.values(), decoded = y.values();
  compute.pause();
  auto long_step = std::async(std::launch::async, [&] {
    compute.forward_range(*span_, span_->start(), span_->end(), hidden, 1, 64, 0, cache);
  });
  wait_until([&] { return compute.queued() == 1; });
  auto decode = std::async(std::launch::async, [&] {
    compute.forward_range(*span_, span_->start(), span_->end(), decoded, 1, 1, 0, other);
  });
  wait_until([&] { return compute.queued() == 2; });
  compute.resume();
  decode.get();
  long_step.get();
  EXPECT_EQ(compute.stats().most_passes_waited, 1);
  EXPECT_EQ(cache.length(), 64);
  // Taking turns changed nothing in either result.
  KvCache direct = span_->make_cache(1, 64);
  std::vector<float> expected = x.values();
  span_->forward(expected, 1, 64, 0, direct);
  EXPECT_EQ(hidden, expected);
  EXPECT_EQ(decoded, local({y}, 8)[0]);
}

// Steps queued while the batcher is paused, each on its own cache: run
// together, they all share the first pass when the budget allows.
struct QueuedStep {
  WireTensor input;
  int position = 0;
  std::vector<WireTensor> history;  // run on the cache before, alone
};

TEST_F(FairShare, SessionsBatchedInOnePassAnswerBitwiseAsAlone) {
  // Prefills and decode steps of different lengths, positions and batch
  // sizes, one a rollback, over caches of different max lengths.
  const std::vector<QueuedStep> queued = {
      {input(1, 1, 1), 5, {input(1, 5, 2)}},
      {input(1, 17, 3), 0, {}},
      {input(2, 1, 4), 9, {input(2, 9, 5)}},
      {input(1, 3, 6), 2, {input(1, 6, 7)}},  // rolls back from 6 to 2
      {input(1, 1, 8), 30, {input(1, 30, 9)}},
  };
  StepBatcher compute(256, 64);
  std::vector<KvCache> caches;
  std::vector<std::vector<float>> hidden;
  for (const auto& q : queued) {
    const int batch = static_cast<int>(q.input.shape[0]);
    caches.push_back(span_->make_cache(batch, 40));
    for (const auto& past : q.history) {
      std::vector<float> h = past.values();
      span_->forward(h, batch, static_cast<int>(past.shape[1]), caches.back().length(),
                     caches.back());
    }
    hidden.push_back(q.input.values());
  }
  compute.pause();
  std::vector<std::future<void>> running;
  for (size_t i = 0; i < queued.size(); ++i) {
    running.push_back(std::async(std::launch::async, [&, i] {
      const WireTensor& x = queued[i].input;
      compute.forward_range(*span_, span_->start(), span_->end(), hidden[i],
                            static_cast<int>(x.shape[0]), static_cast<int>(x.shape[1]),
                            queued[i].position, caches[i]);
    }));
    wait_until([&] { return compute.queued() == static_cast<int>(i) + 1; });
  }
  compute.resume();
  for (auto& r : running) r.get();
  EXPECT_EQ(compute.stats().passes, 1u);
  EXPECT_EQ(compute.stats().most_steps_in_a_pass, static_cast<int>(queued.size()));

  const int kv = config_->num_key_value_heads, dim = config_->head_dim;
  for (size_t i = 0; i < queued.size(); ++i) {
    const QueuedStep& q = queued[i];
    const int batch = static_cast<int>(q.input.shape[0]);
    KvCache alone = span_->make_cache(batch, 40);
    for (const auto& past : q.history) {
      std::vector<float> h = past.values();
      span_->forward(h, batch, static_cast<int>(past.shape[1]), alone.length(), alone);
    }
    std::vector<float> expected = q.input.values();
    span_->forward(expected, batch, static_cast<int>(q.input.shape[1]), q.position, alone);
    EXPECT_EQ(hidden[i], expected) << "step " << i;
    EXPECT_EQ(cache_contents(caches[i], kv, dim), cache_contents(alone, kv, dim)) << "step " << i;
  }
}

TEST_F(FairShare, NoStepWaitsLongerThanTheTokensQueuedAheadOfIt) {
  // Three 64-token prefills and then four decode steps queue for passes of
  // 32 tokens, chunks of 16. Pass 1 runs the first two prefills' first
  // chunks; pass 2 the third prefill's chunk and all four decode steps,
  // which wait one pass, not for 192 tokens of prefill.
  StepBatcher compute(32, 16);
  std::vector<KvCache> caches;
  std::vector<std::vector<float>> hidden;
  std::vector<int> tokens = {64, 64, 64, 1, 1, 1, 1};
  for (size_t i = 0; i < tokens.size(); ++i) {
    caches.push_back(span_->make_cache(1, 64));
    hidden.push_back(input(1, tokens[i], static_cast<int>(i)).values());
  }
  compute.pause();
  std::vector<std::future<void>> running;
  for (size_t i = 0; i < tokens.size(); ++i) {
    running.push_back(std::async(std::launch::async, [&, i] {
      compute.forward_range(*span_, span_->start(), span_->end(), hidden[i], 1, tokens[i], 0,
                            caches[i]);
    }));
    wait_until([&] { return compute.queued() == static_cast<int>(i) + 1; });
  }
  compute.resume();
  for (auto& r : running) r.get();
  EXPECT_EQ(compute.stats().most_passes_waited, 1);
  EXPECT_EQ(compute.stats().tokens, 3u * 64 + 4);
  for (size_t i = 0; i < tokens.size(); ++i) {
    EXPECT_EQ(hidden[i], local({input(1, tokens[i], static_cast<int>(i))}, 64)[0]) << i;
  }
}

TEST_F(FairShare, APassWaitsForTheRestOfTheSequencesThatRanTogether) {
  // Two sequences ran in one pass; then one's next step arrives alone. The
  // pass waits (up to an hour here) for the other's, and both run together.
  // A lone sequence never waits: its steps run back to back.
  StepBatcher compute(256, 64, std::chrono::hours(1));
  KvCache a = span_->make_cache(1, 8), b = span_->make_cache(1, 8);
  std::vector<float> xa = input(1, 1, 1).values(), xb = input(1, 1, 2).values();
  const auto step = [&](std::vector<float>& x, KvCache& cache) {
    return std::async(std::launch::async, [&] {
      compute.forward_range(*span_, span_->start(), span_->end(), x, 1, 1, cache.length(), cache);
    });
  };
  compute.pause();
  auto first_a = step(xa, a);
  wait_until([&] { return compute.queued() == 1; });
  auto first_b = step(xb, b);
  wait_until([&] { return compute.queued() == 2; });
  compute.resume();
  first_a.get();
  first_b.get();
  ASSERT_EQ(compute.stats().passes, 1u);
  auto second_a = step(xa, a);
  wait_until([&] { return compute.queued() == 1; });
  auto second_b = step(xb, b);
  second_a.get();
  second_b.get();
  EXPECT_EQ(compute.stats().passes, 2u);
  EXPECT_EQ(compute.stats().most_steps_in_a_pass, 2);

  StepBatcher alone(256, 64, std::chrono::hours(1));
  KvCache c = span_->make_cache(1, 8);
  std::vector<float> xc = input(1, 1, 3).values();
  for (int i = 0; i < 3; ++i) alone.forward_range(*span_, 0, span_->end(), xc, 1, 1, i, c);
  EXPECT_EQ(alone.stats().passes, 3u);
}

TEST_F(FairShare, ADecodeStepAlongsideLongStepsIsExact) {
  // Two sessions on one host: one replays 48-token steps, the other decodes;
  // both get exactly what the local engine gives.
  ServerOptions options;
  options.cache_tokens = 128;
  options.compute_chunk_tokens = 8;
  auto host = make_host(options);
  auto replay = open(*host, "replay", "replay", 48);
  auto decode = open(*host, "decode", "decode", 32);
  const WireTensor prefill = input(1, 48, 1);
  auto replaying = std::async(std::launch::async, [&] {
    for (int i = 0; i < 4; ++i) {
      replay->stream->on_request(test::step_request(i, 0, split_chunks(prefill).front()));
    }
  });
  std::vector<WireTensor> steps;
  for (int i = 0; i < 16; ++i) {
    steps.push_back(input(1, 1, 10 + i));
    decode->step(steps.back());
  }
  replaying.get();
  const auto expected = local(steps, 32);
  ASSERT_EQ(decode->results.size(), steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(decode->results[i].output.values(), expected[i]) << i;
  }
  const auto replayed = local({prefill}, 48)[0];
  ASSERT_EQ(replay->results.size(), 4u);
  for (const auto& r : replay->results) EXPECT_EQ(r.output.values(), replayed);
}

}  // namespace
}  // namespace brigade
