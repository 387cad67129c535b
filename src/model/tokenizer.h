#pragma once
// Text <-> token ids through the checkpoint's sentencepiece `tokenizer.model`.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace brigade {

class Tokenizer {
 public:
  // Returns nullptr when `dir` has no tokenizer.model (token-id prompts still
  // work then). Throws Error when the file exists but cannot be loaded.
  static std::unique_ptr<Tokenizer> open(const std::filesystem::path& dir);
  ~Tokenizer();

  // Ids of `text`, preceded by `bos_id` when bos_id >= 0.
  std::vector<int32_t> encode(const std::string& text, int bos_id) const;
  // Ids outside [0, size()) decode to nothing: a model's embedding table may
  // be larger than its tokenizer (padded vocabularies, random test models).
  std::string decode(const std::vector<int32_t>& ids) const;
  // Number of pieces; ids are in [0, size()).
  int size() const;

 private:
  Tokenizer();
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

// Trains a small sentencepiece model from `corpus` text (one sentence per
// line) into `out_dir`/tokenizer.model with at most `vocab_size` pieces
// (fewer when the corpus cannot fill them) and ids unk=0, bos=1, eos=2, no
// pad. `model_type` is "bpe" (default) or "unigram". Training logs nothing.
void train_tokenizer(const std::string& corpus, int vocab_size, const std::filesystem::path& out_dir,
                     const std::string& model_type = "bpe");


}  // namespace brigade
