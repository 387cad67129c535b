// Tokenizer speed: encoding about 1 MB of English text with the Llama 3
// tokenizer.json of ../shared/tokenizers (the target: under 1 s on
// one core). Reports bytes_per_second. The text is generated here from fixed
// English sentences, shuffled by a seeded generator and mixed with numbers,
// so that it is the same on every run and needs no download.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

const std::filesystem::path kLlama3 =
    std::filesystem::path(BRIGADE_SHARED_DIR) / "tokenizers" / "llama3";

std::string english_text(size_t bytes) {
  const std::vector<std::string> sentences = {
      "The committee met on Tuesday to discuss the budget for the coming year.",
      "Several members argued that spending on roads and bridges should rise,",
      "while others wanted more money for schools, libraries and public parks.",
      "After three hours of debate, they agreed to publish a draft in March.",
      "Residents will be able to comment on the proposal before the final vote.",
      "\"We can't fix everything at once,\" said the chair, \"but we'll try.\"",
      "Rainfall this spring was well above the average of the last decade;",
      "farmers in the northern valleys reported their best harvest in years.",
      "Meanwhile, the museum's new wing opened with an exhibition of maps",
      "drawn by sailors who crossed the Atlantic in the eighteenth century.",
      "Tickets cost less than a sandwich, and children under twelve enter free.",
  };
  std::mt19937 rng(42);
  std::ostringstream out;
  size_t size = 0;
  while (size < bytes) {
    std::ostringstream paragraph;
    for (int i = 0; i < 6; ++i) {
      paragraph << sentences[rng() % sentences.size()] << ' ';
      if (rng() % 3 == 0) paragraph << "It cost $" << rng() % 100000 << '.' << rng() % 100 << ". ";
    }
    paragraph << "\n\n";
    const auto text = paragraph.str();
    out << text;
    size += text.size();
  }
  return out.str();
}

const std::string& megabyte() {
  static const std::string text = english_text(1 << 20);
  return text;
}

// A tokenizer that has already seen the text (its word cache is warm), as
// in a long-running process.
void BM_Llama3EncodeWarm(benchmark::State& state) {
  static const auto tokenizer = brigade::Tokenizer::open(kLlama3);
  const auto& text = megabyte();
  size_t ids = 0;
  for (auto _ : state) {
    ids = tokenizer->encode(text, false).size();
    benchmark::DoNotOptimize(ids);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["ids"] = static_cast<double>(ids);
}
BENCHMARK(BM_Llama3EncodeWarm)->Unit(benchmark::kMillisecond);

// A freshly loaded tokenizer each time (loading is not timed): every word
// goes through BPE once.
void BM_Llama3EncodeCold(benchmark::State& state) {
  const auto& text = megabyte();
  for (auto _ : state) {
    state.PauseTiming();
    auto tokenizer = brigade::Tokenizer::open(kLlama3);
    state.ResumeTiming();
    benchmark::DoNotOptimize(tokenizer->encode(text, false).size());
    state.PauseTiming();
    tokenizer.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Llama3EncodeCold)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
