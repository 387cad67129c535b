#pragma once
// A few KB of plain English, written for this project, from which make_model
// trains the tokenizer of its random models so that text prompts work.

namespace brigade {

extern const char* const kTokenizerCorpus;

}  // namespace brigade
