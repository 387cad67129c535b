#pragma once
// Helpers shared by every test binary: scratch directories and small random
// checkpoints.

#include <filesystem>
#include <string>

#include "model/make_model.h"
#include "util/temp_dir.h"

namespace brigade::test {

// Scratch directories: the one TempDir of src/util.
using brigade::TempDir;

// Small-model defaults for tests: 2 layers, hidden 64, 4 heads, 2 kv heads,
// vocab 256, f32, with a tokenizer. Tests change what they exercise.
MakeModelOptions small_model_options();

// make_model(options) into `dir`/`name`; returns that path.
std::filesystem::path make_small_model(const TempDir& dir, const MakeModelOptions& options,
                                       const std::string& name = "model");

}  // namespace brigade::test
