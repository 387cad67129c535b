// What config fields do to a run: a tied checkpoint that also ships
// lm_head.weight, an eos_token_id list, and the sliding window limit on
// server sessions.

#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "model/block_span.h"
#include "model/generator.h"
#include "model/local_runner.h"
#include "model/model_head.h"
#include "model/reference_model.h"
#include "server/step_assembler.h"
#include "util/error.h"

namespace brigade::test {
namespace {

void rewrite_config(const std::filesystem::path& dir, const nlohmann::json& patch) {
  nlohmann::json j;
  std::ifstream(dir / "config.json") >> j;
  j.merge_patch(patch);
  std::ofstream(dir / "config.json", std::ios::trunc) << j.dump(2);
}

// Last-position logits of `ids` through the engine.
std::vector<float> engine_last_logits(const std::filesystem::path& dir,
                                      const std::vector<int32_t>& ids) {
  const auto config = ModelConfig::load(dir);
  const auto checkpoint = Checkpoint::open(dir);
  const ModelHead head(config, *checkpoint);
  const BlockSpan span(config, *checkpoint, 0, config.num_hidden_layers);
  const int n = static_cast<int>(ids.size()), d = config.hidden_size;
  std::vector<float> hidden(static_cast<size_t>(n) * d);
  head.embed(ids, hidden);
  auto cache = span.make_cache(1, n);
  span.forward(hidden, 1, n, 0, cache);
  std::vector<float> logits(config.vocab_size);
  head.logits(std::span<const float>(hidden).subspan(static_cast<size_t>(n - 1) * d, d), 1, logits);
  return logits;
}

// transformers re-ties the head to the embeddings after loading, so a stored
// lm_head.weight of a tied checkpoint is not used.
TEST(ConfigSemantics, TiedCheckpointThatShipsLmHeadUsesTheEmbeddings) {
  TempDir dir;
  const auto untied = make_small_model(dir, small_model_options(), "untied");
  const auto tied = make_small_model(dir, small_model_options(), "tied");
  rewrite_config(tied, {{"tie_word_embeddings", true}});  // lm_head.weight stays in the file
  const std::vector<int32_t> ids = {3, 17, 42, 9, 100};
  const auto logits = engine_last_logits(tied, ids);
  EXPECT_LE(relative_error(logits, ReferenceModel(tied).logits(ids).back()), 1e-4);
  EXPECT_GT(relative_error(logits, ReferenceModel(untied).logits(ids).back()), 1e-2);
}

TEST(ConfigSemantics, GenerationStopsAtAnyIdOfTheEosListOrStopIds) {
  TempDir dir;
  const auto path = make_small_model(dir, small_model_options());
  auto config = ModelConfig::load(path);
  const auto checkpoint = Checkpoint::open(path);
  const BlockSpan span(config, *checkpoint, 0, config.num_hidden_layers);
  GenerationRequest request;
  request.prompt_ids = {1, 30, 60, 90};
  request.max_new_tokens = 6;
  request.stop_at_eos = false;
  const ModelHead plain_head(config, *checkpoint);
  LocalBlockRunner plain_runner(span, 1, 10);
  const auto full = generate(plain_head, nullptr, plain_runner, request).new_ids;
  ASSERT_EQ(full.size(), 6u);
  // Generation keeps the first eos it meets and stops there.
  auto until = [&](int32_t id) {
    return std::vector<int32_t>(full.begin(), std::find(full.begin(), full.end(), id) + 1);
  };
  request.stop_at_eos = true;

  // The second id of the config's list ends it, like Llama 3's <|eot_id|>.
  int32_t unused = 0;
  while (std::find(full.begin(), full.end(), unused) != full.end()) ++unused;
  config.eos_token_ids = {unused, full[3]};
  const ModelHead head(config, *checkpoint);
  LocalBlockRunner runner(span, 1, 10);
  EXPECT_EQ(generate(head, nullptr, runner, request).new_ids, until(full[3]));

  // So does an id of the request's stop_ids (generation_config.json's list).
  config.eos_token_ids = {unused};
  const ModelHead head2(config, *checkpoint);
  request.stop_ids = {full[1]};
  LocalBlockRunner runner2(span, 1, 10);
  EXPECT_EQ(generate(head2, nullptr, runner2, request).new_ids, until(full[1]));
}

TEST(ConfigSemantics, ServerRefusesSessionsLongerThanTheSlidingWindow) {
  TempDir dir;
  auto options = small_model_options();
  options.model_type = "mistral";
  options.sliding_window = 16;
  const auto path = make_small_model(dir, options);
  const auto config = ModelConfig::load(path);
  ASSERT_EQ(config.max_context(), 16);
  const auto checkpoint = Checkpoint::open(path);
  const BlockSpan span(config, *checkpoint, 0, config.num_hidden_layers);
  rpc::OpenSession open;
  open.set_session_id("s1");
  open.set_start(0);
  open.set_end(config.num_hidden_layers);
  open.set_batch(1);
  open.set_max_length(16);
  EXPECT_NO_THROW(validate_open(open, span));
  open.set_max_length(17);
  try {
    validate_open(open, span);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("max length 17"), std::string::npos) << message;
    EXPECT_NE(message.find("sliding_window"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace brigade::test
