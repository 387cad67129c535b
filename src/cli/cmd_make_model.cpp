// `brigade make-model`: writes a random-weight checkpoint in Hugging Face
// layout for tests, demos and benchmarks.

#include <cstdio>

#include "cli/commands.h"
#include "model/make_model.h"

namespace brigade::cli {

void add_make_model_command(CLI::App& app) {
  struct Flags {
    MakeModelOptions options;
    std::string out, dtype = "f32";
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("make-model", "Write a random-weight Llama-family checkpoint");
  auto& o = flags->options;
  cmd->add_option("--out", flags->out, "Output directory (created)")->required();
  cmd->add_option("--model-type", o.model_type, "llama | mistral | qwen2")->capture_default_str();
  cmd->add_option("--layers", o.layers, "Decoder blocks")->capture_default_str();
  cmd->add_option("--hidden", o.hidden, "Hidden size")->capture_default_str();
  cmd->add_option("--intermediate", o.intermediate, "MLP size")->capture_default_str();
  cmd->add_option("--heads", o.heads, "Attention heads")->capture_default_str();
  cmd->add_option("--kv-heads", o.kv_heads, "Key/value heads (GQA)")->capture_default_str();
  cmd->add_option("--head-dim", o.head_dim, "0 = hidden / heads")->capture_default_str();
  cmd->add_option("--vocab", o.vocab, "Vocabulary size")->capture_default_str();
  cmd->add_option("--max-position", o.max_position_embeddings, "max_position_embeddings")
      ->capture_default_str();
  cmd->add_option("--dtype", flags->dtype, "f32 | bf16 | f16")->capture_default_str();
  cmd->add_option("--shards", o.shards, "Safetensors shards")->capture_default_str();
  cmd->add_flag("--tied", o.tied, "Tie the LM head to the embeddings");
  cmd->add_option(
      "--rope-scaling", o.rope_scaling,
      "config.json's rope_scaling as JSON, e.g. '{\"rope_type\":\"linear\",\"factor\":2}'");
  cmd->add_option("--sliding-window", o.sliding_window,
                  "Attention window (mistral, qwen2); 0 = none")
      ->capture_default_str();
  cmd->add_flag("!--no-tokenizer", o.tokenizer, "Do not train a tokenizer.model");
  cmd->add_option("--seed", o.seed, "Weight seed")->capture_default_str();
  cmd->callback([flags] {
    flags->options.dtype = parse_dtype(flags->dtype);
    make_model(flags->options, flags->out);
    std::printf("wrote %s\n", flags->out.c_str());
  });
}

}  // namespace brigade::cli
