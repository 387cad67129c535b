#include "common/test_util.h"

#include <unistd.h>

#include <cstdlib>

#include "util/error.h"

namespace brigade::test {

MakeModelOptions small_model_options() {
  MakeModelOptions o;
  o.layers = 2;
  o.hidden = 64;
  o.intermediate = 160;
  o.heads = 4;
  o.kv_heads = 2;
  o.vocab = 256;
  o.max_position_embeddings = 128;
  o.seed = 1;
  return o;
}

std::filesystem::path make_small_model(const TempDir& dir, const MakeModelOptions& options,
                                       const std::string& name) {
  const auto path = dir / name;
  make_model(options, path);
  return path;
}

}  // namespace brigade::test
