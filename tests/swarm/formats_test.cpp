// The swarm computes bitwise what one process computes at every weight
// format (issue 9, item 8): servers quantize or keep the stored format, the
// client's LM head does the same, and with the f32 wire `brigade generate`
// gives exactly the ids and logits of `brigade run` with the same --quant.
// The kernels are batch invariant, so splitting the blocks over servers and
// prefill-vs-decode scheduling change nothing.

#include <gtest/gtest.h>

#include "common/swarm_fixture.h"

namespace brigade::test {
namespace {

using namespace swarm_fixture;

constexpr int kNewTokens = 8;

struct Format {
  std::string name;
  DType stored;
  std::string quant;
};

void PrintTo(const Format& f, std::ostream* os) { *os << f.name; }

class SwarmFormats : public testing::TestWithParam<Format> {};

TEST_P(SwarmFormats, SwarmEqualsLocalBitwise) {
  TempDir dir("brigade-formats");
  auto options = model_options();
  options.dtype = GetParam().stored;
  const auto model = make_small_model(dir, options);
  const std::vector<std::string> quant = {"--quant", GetParam().quant};
  const Prompt prompt = id_prompt("5,17,42,99,3,200,11");
  const Generation local = reference_run(model, prompt, kNewTokens, Output::kJsonLogits, quant);
  ASSERT_EQ(local.new_ids.size(), static_cast<size_t>(kNewTokens));

  auto specs = even_spans(options.layers, 2);
  for (auto& s : specs) s.extra_args = quant;
  const auto swarm = start_swarm(model, specs, dir / "logs");
  // Servers announce the format they compute in.
  const auto status = swarm_status(swarm->dht_address());
  for (const auto& s : status.at("servers"))
    EXPECT_EQ(s.at("weight_format").get<std::string>(), GetParam().name) << s.dump();

  for (const bool push : {false, true}) {
    SCOPED_TRACE(push ? "push" : "relay");
    std::vector<std::string> extra = quant;
    if (!push) extra.push_back("--no-push");
    const Generation remote =
        swarm_generate(model, swarm->dht_address(), prompt, kNewTokens, Output::kJsonLogits, extra);
    EXPECT_EQ(remote.ids, local.ids);
    EXPECT_EQ(remote.logits, local.logits);  // bitwise: every float equal
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, SwarmFormats,
                         testing::Values(Format{"bf16", DType::BF16, "none"},
                                         Format{"int8", DType::F32, "int8"},
                                         Format{"int4", DType::F32, "int4"}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace brigade::test
