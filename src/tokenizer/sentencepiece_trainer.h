#pragma once
// Training of small sentencepiece models, for the random test models that
// make_model writes (so that text prompts work on them).

#include <filesystem>
#include <string>

namespace brigade {

// Trains a small sentencepiece model from `corpus` text (one sentence per
// line) into `out_dir`/tokenizer.model with at most `vocab_size` pieces
// (fewer when the corpus cannot fill them) and ids unk=0, bos=1, eos=2, no
// pad. `model_type` is "bpe" (default) or "unigram". Training logs nothing.
void train_tokenizer(const std::string& corpus, int vocab_size,
                     const std::filesystem::path& out_dir, const std::string& model_type = "bpe");

}  // namespace brigade
