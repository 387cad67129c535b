#pragma once
// An in-process SessionHost over the small test model, for the tests of the
// server's protocol core without gRPC (session_host_test.cpp,
// fair_share_test.cpp). Messages come from server_test_util.h, as the
// raw-gRPC tests' do.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/test_util.h"
#include "model/block_span.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "server/server_test_util.h"
#include "server/session_host.h"

namespace brigade::test {

class HostFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = make_small_model(dir_, small_model_options());
    config_ = std::make_unique<ModelConfig>(ModelConfig::load(model_));
    checkpoint_ = Checkpoint::open(model_);
    span_ = std::make_unique<BlockSpan>(*config_, *checkpoint_, 0, config_->num_hidden_layers);
  }

  // A host of every block with `options`, pushing into `pushes`.
  std::unique_ptr<SessionHost> make_host(const ServerOptions& options, PushSink& pushes) {
    return std::make_unique<SessionHost>(ServedModel{"model", *span_, identity_, 0}, options,
                                         counters_, pushes);
  }

  // The open of a session `id` over every block.
  rpc::InferenceRequest open_all(const std::string& id, int max_length, int batch = 1) const {
    return open_request(id, 0, config_->num_hidden_layers, max_length, batch);
  }

  TempDir dir_{"brigade-host"};
  std::filesystem::path model_;
  std::unique_ptr<ModelConfig> config_;
  std::shared_ptr<const Checkpoint> checkpoint_;
  std::unique_ptr<BlockSpan> span_;
  Identity identity_ = Identity::generate();
  PushCounters counters_;
};

}  // namespace brigade::test
