// Shared parts of the `clearsight explain` subcommands (explain_cmd.cc, explain_layer_cmd.cc).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "clearsight/core/atomic_file.h"

#include "clearsight/interp/examples.h"
#include "clearsight/mm/trainer.h"
#include "commands.h"

namespace clearsight::cli {

/// Options every explain subcommand shares.
struct ExplainArgs {
  std::string model = "cs-tiny-vl";
  std::string task = "scene_vqa";
  std::string split = "test";
  std::int64_t sample = -1;
  std::int64_t samples = 1;
  std::int64_t first = 0;
  std::string target = "answer";
  std::int64_t batch = 8;
  std::string out;
  bool json = false;
};

/// A loaded model for one explain command.
struct ExplainRun {
  /// Starts the runtime and loads args.model.
  ExplainRun(const GlobalOptions& global, const ExplainArgs& args);
  /// The model reference handed to the library.
  interp::ModelRef ref(const ExplainArgs& args);
  mm::LoadedModel loaded;
};

/// The sample selection of the arguments (--sample N means one sample).
interp::SampleSelection selection_of(const ExplainArgs& args);

/// The target of --target (answer, first, token:WORD).
interp::Target target_of(const ExplainArgs& args);

/// Adds --model, --task, --split, [--sample, --samples, --first, --target], --batch, --out, --json.
void add_common_options(CLI::App* cmd, ExplainArgs& args, bool with_samples);

/// Prints the JSON (--json) or the summary line and the report path; returns 0.
int print_result(const ExplainArgs& args, const nlohmann::json& result, const std::string& summary);

/// Runs fn(staging directory) and moves the directory to args.out only when fn succeeds, so a
/// failed run leaves no half-written output (and an older complete one untouched).
template <typename Fn>
nlohmann::json staged(const ExplainArgs& args, Fn&& fn) {
  StagedDirectory dir(args.out);
  auto result = fn(dir.staging());
  dir.commit();
  return result;
}

/// Adds attention, rollout, knockout, logit-lens, tuned-lens, probe, geometry and findings.
void add_explain_layer_commands(Context& context, CLI::App* group);

/// Adds the interventions: patch, steer.
void add_explain_intervention_commands(Context& context, CLI::App* group);

}  // namespace clearsight::cli
