// MINER in Python: score a task (stages 2 + 3), merge shards, select neurons (stage 4), deactivate
// them while a `with` block runs, and evaluate a selection against random controls.
#include <torch/extension.h>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "clearsight/core/error.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/interp/examples.h"
#include "clearsight/miner/evaluate.h"
#include "clearsight/miner/miner.h"
#include "clearsight/miner/neurons.h"
#include "clearsight/miner/pipeline.h"
#include "clearsight/miner/report.h"
#include "clearsight/miner/run.h"
#include "clearsight/miner/selection_io.h"
#include "clearsight/mm/tasks.h"
#include "models.h"

namespace py = pybind11;

namespace clearsight::python {

namespace {

/// Hooks that deactivate a selection while they live; a context manager in Python.
struct Deactivation {
  std::shared_ptr<Model> model;
  miner::Selection selection;
  miner::DeactivateOptions options;
  std::vector<nn::HookHandle> handles;
  bool active() const { return !handles.empty(); }
  void attach() {
    CS_CHECK_AS(RuntimeError, !active(), "this deactivation is already active");
    handles = miner::deactivate(*model->model, selection, options);
  }
  void detach() { handles.clear(); }
};

/// Metric weights from a dict {metric: weight}; unnamed metrics weigh 0.
std::array<double, miner::kNumMetrics> weights_from(const py::dict& d) {
  std::array<double, miner::kNumMetrics> w{};
  for (const auto& [key, value] : d) {
    w[static_cast<std::size_t>(miner::metric_index(key.cast<std::string>()))] =
        value.cast<double>();
  }
  return w;
}

}  // namespace

void bind_miner(py::module_& root) {
  auto m = root.def_submodule("miner", "MINER: modality-specific neurons, in four stages");
  m.attr("MODALITIES") =
      std::vector<std::string>(miner::kModalities.begin(), miner::kModalities.end());
  m.attr("METRICS") = std::vector<std::string>(miner::kMetrics.begin(), miner::kMetrics.end());

  py::class_<miner::ScoreAccumulator>(m, "Scores",
                                      "Streaming sums of one dataset's neuron scores (stages 2 "
                                      "+ 3); shards merge")
      .def_property_readonly("dataset", &miner::ScoreAccumulator::dataset)
      .def_property_readonly("samples", &miner::ScoreAccumulator::samples)
      .def_property_readonly("counts", &miner::ScoreAccumulator::counts,
                             "Samples containing each modality [modalities] int64")
      .def("mean", &miner::ScoreAccumulator::mean,
           "Mean scores [metrics, modalities, layers, neurons] float64")
      .def("merge", &miner::ScoreAccumulator::merge, py::arg("other"),
           "Adds another shard of the same dataset and shape")
      .def(
          "save",
          [](const miner::ScoreAccumulator& s, const std::filesystem::path& path) { s.save(path); },
          py::arg("path"), "Writes a safetensors score file (what miner score writes)")
      .def_static("load", &miner::ScoreAccumulator::load, py::arg("path"),
                  "Reads a score file written by save or miner score");

  py::class_<miner::Selection>(m, "Selection", "Selected neurons per modality")
      .def_readonly("modalities", &miner::Selection::modalities)
      .def_readonly("masks", &miner::Selection::masks, "[modalities, layers, neurons] bool")
      .def_property_readonly("ratio", [](const miner::Selection& s) { return s.options.ratio; })
      .def_property_readonly("strategy",
                             [](const miner::Selection& s) { return s.options.strategy; })
      .def("union_mask", &miner::Selection::union_mask,
           "Every modality's neurons [layers, neurons]")
      .def("shared_mask", &miner::Selection::shared_mask,
           "Neurons two or more modalities selected [layers, neurons]")
      .def("mask", &miner::Selection::mask, py::arg("modality"))
      .def("neuron_names", &miner::Selection::neuron_names, py::arg("modality"),
           "Hook references such as 'blocks.3.mlp.hook_post[12]'")
      .def(
          "save",
          [](const miner::Selection& s, const std::filesystem::path& path,
             const std::string& model) { miner::save_selection(s, path, model); },
          py::arg("path"), py::arg("model"), "Writes a selection file (miner eval reads it)")
      .def_static("load", &miner::load_selection, py::arg("path"))
      .def("__repr__", [](const miner::Selection& s) {
        std::string text = "Selection(";
        for (std::size_t i = 0; i < s.modalities.size(); ++i) {
          text += (i ? ", " : "") + s.modalities[i] + "=" +
                  std::to_string(s.masks[static_cast<std::int64_t>(i)].sum().item<std::int64_t>());
        }
        return text + ")";
      });

  m.def(
      "score",
      [](const std::shared_ptr<Model>& model, const std::string& task, const std::string& split,
         std::int64_t samples, const std::string& shard, bool faithful, std::int64_t batch_size,
         bool progress) {
        miner::ScoreRun run;
        run.split = interp::parse_split(split);
        run.samples = samples;
        std::tie(run.shard, run.shards) = miner::parse_shard(shard);
        run.options.faithful = faithful;
        run.batch_size = batch_size;
        run.progress = progress;
        const auto t = mm::make_task(task);
        py::gil_scoped_release release;
        return miner::score_task(*model->model, model->tokenizer, *t, run);
      },
      py::arg("model"), py::arg("task"), py::arg("split") = "validation", py::arg("samples") = 200,
      py::arg("shard") = "0/1", py::arg("faithful") = false, py::arg("batch_size") = 1,
      py::arg("progress") = false, "Stages 2 + 3 over a task's samples: a Scores object");

  m.def(
      "merge",
      [](const std::vector<miner::ScoreAccumulator>& shards) {
        CS_CHECK_AS(ConfigError, !shards.empty(), "merge needs at least one Scores object");
        auto out = shards.front();
        for (std::size_t i = 1; i < shards.size(); ++i) out.merge(shards[i]);
        return out;
      },
      py::arg("shards"), "The shards of one dataset summed into one Scores object");

  m.def(
      "select",
      [](const std::vector<miner::ScoreAccumulator>& datasets, double ratio,
         const std::string& strategy, const std::string& split, const py::object& weights,
         std::uint64_t seed) {
        miner::SelectOptions o;
        o.ratio = ratio;
        o.strategy = strategy;
        o.split = split;
        o.seed = seed;
        if (!weights.is_none()) o.weights = weights_from(weights.cast<py::dict>());
        const auto [scores, present] = miner::combine_datasets(datasets);
        return miner::select_neurons(scores, present, o);
      },
      py::arg("datasets"), py::arg("ratio") = 0.02, py::arg("strategy") = "LA_MU",
      py::arg("split") = "default", py::arg("weights") = py::none(), py::arg("seed") = 0,
      "Stage 4 over the datasets' scores: a Selection (weights: {metric: weight}, default "
      "mean 0.25, max 0.25, attn_k 0.5)");

  m.def("random_like", &miner::random_like, py::arg("selection"), py::arg("seed") = 0,
        "As many uniformly random neurons as the selection's union holds (MINER's control)");

  py::class_<Deactivation, std::shared_ptr<Deactivation>>(
      m, "Deactivation", "Hooks that overwrite a selection's neurons; use in a with block")
      .def_property_readonly("active", &Deactivation::active)
      .def("__enter__",
           [](const std::shared_ptr<Deactivation>& d) {
             d->attach();
             return d;
           })
      .def("__exit__", [](Deactivation& d, const py::args&) { d.detach(); })
      .def("attach", &Deactivation::attach)
      .def("detach", &Deactivation::detach);

  m.def(
      "deactivate",
      [](const std::shared_ptr<Model>& model, const miner::Selection& selection,
         const std::string& value, bool complementary, const std::vector<std::string>& modalities) {
        CS_CHECK_AS(UnknownNameError, value == "zero" || value == "min",
                    "unknown deactivation value '", value,
                    "' (zero or min; mean needs means: use miner.evaluate(value='mean'))");
        auto d = std::make_shared<Deactivation>();
        d->model = model;
        d->selection = selection;
        d->options.value = value;
        d->options.complementary = complementary;
        d->options.modalities = modalities;
        return d;
      },
      py::arg("model"), py::arg("selection"), py::arg("value") = "zero",
      py::arg("complementary") = false, py::arg("modalities") = std::vector<std::string>{},
      "A Deactivation: `with miner.deactivate(model, sel): model.generate(...)`");

  m.def(
      "run",
      [](const std::shared_ptr<Model>& model, const std::filesystem::path& out,
         std::int64_t score_samples, std::int64_t eval_samples, int random_seeds, double ratio,
         bool faithful, const std::string& split, bool complementary, std::uint64_t seed,
         bool report) {
        miner::StudyOptions o;
        o.model = model->name;
        o.score_samples = score_samples;
        o.eval_samples = eval_samples;
        o.random_seeds = random_seeds;
        o.ratio = ratio;
        o.faithful = faithful;
        o.split = split;
        o.complementary = complementary;
        o.seed = seed;
        o.progress = false;
        miner::check_study_options(o);
        nlohmann::json summary;
        {
          py::gil_scoped_release release;
          const auto run = RunDir::at(out);
          summary = miner::run_study(*model->model, model->tokenizer, o, run);
          if (report) miner::write_report(out);
        }
        summary["run_dir"] = out.string();
        if (report) summary["report"] = (out / "report" / "report.html").string();
        return to_python(summary);
      },
      py::arg("model"), py::arg("out"), py::arg("score_samples") = 100,
      py::arg("eval_samples") = 100, py::arg("random_seeds") = 3, py::arg("ratio") = 0.02,
      py::arg("faithful") = false, py::arg("split") = "default", py::arg("complementary") = false,
      py::arg("seed") = 0, py::arg("report") = true,
      "miner run: the whole study into the folder out (resumable); its summary dict");

  m.def(
      "neurons",
      [](const std::filesystem::path& run_or_file) {
        return to_python(miner::run_neurons(run_or_file));
      },
      py::arg("run_or_file"),
      "miner neurons: a run's (or selection file's) neurons with modalities and scores");

  m.def(
      "report",
      [](const std::filesystem::path& run_dir) {
        const auto md = miner::write_report(run_dir);
        return (md.parent_path() / "report.html").string();
      },
      py::arg("run_dir"), "miner report: writes report.html and report.md; the HTML's path");

  m.def(
      "evaluate",
      [](const std::shared_ptr<Model>& model, const miner::Selection& selection,
         const std::vector<std::string>& tasks, const std::string& split, std::int64_t samples,
         const std::vector<std::string>& modalities, bool complementary,
         const std::vector<std::string>& positions, const std::string& value, int random_seeds,
         std::int64_t batch_size, bool progress) {
        miner::SelectionEvalOptions o;
        o.tasks = tasks;
        o.split = split;
        o.samples = samples;
        o.modalities = modalities;
        o.complementary = complementary;
        o.positions = positions;
        o.value = value;
        o.random_seeds = random_seeds;
        o.batch_size = batch_size;
        o.progress = progress;
        nlohmann::json result;
        {
          py::gil_scoped_release release;
          result = miner::evaluate_selection(*model->model, model->tokenizer, selection, o);
        }
        return to_python(result);
      },
      py::arg("model"), py::arg("selection"), py::arg("tasks") = std::vector<std::string>{},
      py::arg("split") = "test", py::arg("samples") = 100,
      py::arg("modalities") = std::vector<std::string>{}, py::arg("complementary") = false,
      py::arg("positions") = std::vector<std::string>{}, py::arg("value") = "zero",
      py::arg("random_seeds") = 3, py::arg("batch_size") = 32, py::arg("progress") = false,
      "Task scores with the selection ablated against the original model and random controls "
      "(the dict miner eval --json prints)");
}

}  // namespace clearsight::python
