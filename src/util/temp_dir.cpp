#include "util/temp_dir.h"

#include <stdlib.h>

#include "util/error.h"

namespace brigade {

TempDir::TempDir(const std::string& prefix) {
  auto pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  require(mkdtemp(pattern.data()) != nullptr, "cannot create a temp dir from {}", pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;  // a destructor must not throw; a leftover dir is harmless
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace brigade
