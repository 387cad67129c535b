#pragma once
// Helpers shared by every test binary: scratch directories and small random
// checkpoints.

#include <filesystem>
#include <string>

#include "model/make_model.h"

namespace brigade::test {

// A fresh directory under the system temp dir, removed with everything in it
// when the object goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "brigade-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Small-model defaults for tests: 2 layers, hidden 64, 4 heads, 2 kv heads,
// vocab 256, f32, with a tokenizer. Tests change what they exercise.
MakeModelOptions small_model_options();

// make_model(options) into `dir`/`name`; returns that path.
std::filesystem::path make_small_model(const TempDir& dir, const MakeModelOptions& options,
                                       const std::string& name = "model");

}  // namespace brigade::test
