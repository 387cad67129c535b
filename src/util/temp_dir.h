#pragma once
// A fresh directory under the system temp dir, removed with everything in it
// when the object goes out of scope: scratch space for generated models and
// logs in benchmarks and tests.

#include <filesystem>
#include <string>

namespace brigade {

class TempDir {
 public:
  // Throws Error when the directory cannot be created.
  explicit TempDir(const std::string& prefix = "brigade");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace brigade
