#include "tokenizer/sentencepiece_trainer.h"

#include <sentencepiece_trainer.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "util/error.h"

namespace brigade {

namespace {

// Feeds the corpus to the trainer line by line, without a temporary file.
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(const std::string& text) : stream_(text) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    while (std::getline(stream_, line_)) {
      if (!line_.empty()) return;
    }
    done_ = true;
  }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  std::istringstream stream_;
  std::string line_;
  bool done_ = false;
};

}  // namespace

void train_tokenizer(const std::string& corpus, int vocab_size,
                     const std::filesystem::path& out_dir, const std::string& model_type) {
  require(model_type == "bpe" || model_type == "unigram",
          "train_tokenizer: model type must be bpe or unigram, got '{}'", model_type);
  LineIterator lines(corpus);
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", model_type},
      {"vocab_size", std::to_string(vocab_size)},
      // A small corpus may not support the requested size: accept fewer pieces.
      {"hard_vocab_limit", "false"},
      {"character_coverage", "1.0"},
      {"normalization_rule_name", "identity"},  // as Llama's; also keeps the file small
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "-1"},
      {"num_threads", "1"},
      {"minloglevel", "2"},  // training logs a page of INFO lines otherwise
  };
  std::string model;
  // The trainer keeps global state (log level, pretokenizer): one at a time.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &lines, &model);
  require(status.ok(), "cannot train a {}-piece {} tokenizer: {}", vocab_size, model_type,
          status.ToString());
  std::filesystem::create_directories(out_dir);
  const auto path = out_dir / "tokenizer.model";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(model.data(), static_cast<std::streamsize>(model.size()));
  out.close();
  require(out.good(), "{}: write failed", path.string());
}

}  // namespace brigade
