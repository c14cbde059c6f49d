// Models in Python: load by name or folder, run with a cache or with Python hooks, generate,
// evaluate on a task; task samples as dicts.
#include <torch/extension.h>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "clearsight/core/error.h"
#include "clearsight/interp/examples.h"
#include "clearsight/mm/data.h"
#include "clearsight/mm/tasks.h"
#include "clearsight/mm/trainer.h"
#include "models.h"

namespace py = pybind11;

namespace clearsight::python {

py::object to_python(const nlohmann::json& value) {
  return py::module_::import("json").attr("loads")(value.dump());
}

py::dict sample_to_dict(const mm::Sample& s) {
  py::dict d;
  d["task"] = s.task;
  d["index"] = s.index;
  d["prompt"] = s.prompt;
  d["answer"] = s.answer;
  d["references"] = s.references;
  d["question_type"] = s.question_type;
  d["image"] = s.image.defined() ? py::cast(s.image) : py::none();
  d["video"] = s.video.defined() ? py::cast(s.video) : py::none();
  d["audio"] = s.audio.defined() ? py::cast(s.audio) : py::none();
  return d;
}

namespace {

torch::Tensor optional_tensor(const py::dict& d, const char* key, torch::ScalarType dtype,
                              std::int64_t dims, const char* shape) {
  if (!d.contains(key) || d[key].is_none()) return {};
  const auto t = d[key].cast<torch::Tensor>();
  CS_CHECK_AS(ShapeError, t.dim() == dims, "sample '", key, "' must be ", shape, ", got ",
              t.sizes());
  return t.to(dtype).contiguous();
}

}  // namespace

mm::Sample sample_from_python(const py::handle& obj) {
  mm::Sample s;
  if (py::isinstance<py::str>(obj)) {
    s.prompt = obj.cast<std::string>();
    return s;
  }
  CS_CHECK_AS(ConfigError, py::isinstance<py::dict>(obj),
              "a sample is a prompt string or a dict with 'prompt' (and 'image', 'video', "
              "'audio', 'answer'), not ",
              std::string(py::str(obj.get_type())));
  const auto d = obj.cast<py::dict>();
  CS_CHECK_AS(ConfigError, d.contains("prompt"), "a sample dict needs a 'prompt'");
  s.prompt = d["prompt"].cast<std::string>();
  if (d.contains("answer") && !d["answer"].is_none()) s.answer = d["answer"].cast<std::string>();
  if (d.contains("task") && !d["task"].is_none()) s.task = d["task"].cast<std::string>();
  s.image = optional_tensor(d, "image", torch::kUInt8, 3, "uint8 [3, H, W]");
  s.video = optional_tensor(d, "video", torch::kUInt8, 4, "uint8 [T, 3, H, W]");
  s.audio = optional_tensor(d, "audio", torch::kFloat32, 1, "a float32 waveform [n]");
  return s;
}

std::vector<mm::Sample> samples_from_python(const py::handle& obj) {
  std::vector<mm::Sample> out;
  if (py::isinstance<py::str>(obj) || py::isinstance<py::dict>(obj)) {
    out.push_back(sample_from_python(obj));
  } else {
    CS_CHECK_AS(ConfigError, py::isinstance<py::iterable>(obj),
                "samples are a prompt string, a sample dict or a list of them, not ",
                std::string(py::str(obj.get_type())));
    for (const auto& item : obj) out.push_back(sample_from_python(item));
  }
  CS_CHECK_AS(ConfigError, !out.empty(), "no samples given");
  return out;
}

mm::Batch Model::batch(const std::vector<mm::Sample>& samples, bool with_answers) const {
  return mm::collate(samples, tokenizer, model->media_tokens(),
                     model->config().audio_config.max_samples, with_answers);
}

namespace {

nn::NameFilter name_filter(const py::object& names) {
  if (names.is_none()) return nullptr;
  if (py::isinstance<py::str>(names)) {
    const auto one = names.cast<std::string>();
    return [one](const std::string& n) { return n == one; };
  }
  if (PyCallable_Check(names.ptr())) {
    auto fn = names;
    return [fn](const std::string& n) { return fn(n).cast<bool>(); };
  }
  const auto list = names.cast<std::vector<std::string>>();
  return
      [list](const std::string& n) { return std::find(list.begin(), list.end(), n) != list.end(); };
}

py::dict inputs_dict(const mm::Batch& b) {
  py::dict d;
  d["input_ids"] = b.inputs.input_ids;
  d["attention_mask"] =
      b.inputs.attention_mask.defined() ? py::cast(b.inputs.attention_mask) : py::none();
  d["images"] = b.inputs.images.defined() ? py::cast(b.inputs.images) : py::none();
  d["videos"] = b.inputs.videos.defined() ? py::cast(b.inputs.videos) : py::none();
  d["audios"] = b.inputs.audios.defined() ? py::cast(b.inputs.audios) : py::none();
  d["labels"] = b.labels.defined() ? py::cast(b.labels) : py::none();
  d["prompts"] = b.prompts;
  return d;
}

torch::Tensor forward_batch(Model& self, const py::object& samples, bool with_answers) {
  const auto b = self.batch(samples_from_python(samples), with_answers);
  return self.model->forward(b.inputs);
}

}  // namespace

void bind_models(py::module_& m) {
  py::class_<Model, std::shared_ptr<Model>>(m, "Model",
                                            "A built-in multimodal model (or a folder of one) "
                                            "with its tokenizer and hook points")
      .def_property_readonly("name", [](const Model& s) { return s.name; })
      .def_property_readonly("config",
                             [](const Model& s) {
                               const auto& c = s.model->config();
                               py::dict d;
                               d["vocab_size"] = c.vocab_size;
                               d["hidden_size"] = c.hidden_size;
                               d["num_hidden_layers"] = c.num_hidden_layers;
                               d["num_attention_heads"] = c.num_attention_heads;
                               d["intermediate_size"] = c.intermediate_size;
                               d["vision"] = c.vision_config.enabled;
                               d["audio"] = c.audio_config.enabled;
                               return d;
                             })
      .def(
          "hook_names", [](const Model& s) { return s.model->hook_names(); },
          "Every hook point's name, in module order (TransformerLens style)")
      .def(
          "parameters",
          [](const Model& s) {
            py::dict d;
            for (const auto& p : s.model->named_parameters()) d[py::str(p.key())] = p.value();
            return d;
          },
          "Parameters by name (the tensors themselves, not copies)")
      .def(
          "tokens",
          [](const Model& s, const py::object& sample) {
            const auto b = s.batch(samples_from_python(sample), false);
            std::vector<std::string> out;
            for (const auto id : b.prompts[0]) out.push_back(s.tokenizer.token(id));
            return out;
          },
          py::arg("sample"), "The prompt's tokens under the chat template")
      .def(
          "inputs",
          [](const Model& s, const py::object& samples, bool with_answers) {
            return inputs_dict(s.batch(samples_from_python(samples), with_answers));
          },
          py::arg("samples"), py::arg("with_answers") = false,
          "The right-padded batch the model reads (input_ids, attention_mask, media, labels)")
      .def(
          "forward",
          [](Model& s, const py::object& samples, bool with_answers) {
            torch::NoGradGuard no_grad;
            return forward_batch(s, samples, with_answers);
          },
          py::arg("samples"), py::arg("with_answers") = false,
          "Logits [B, L, vocab] of prompts (strings or sample dicts), right-padded")
      .def(
          "run_with_cache",
          [](Model& s, const py::object& samples, const py::object& names, bool with_answers) {
            torch::NoGradGuard no_grad;
            const auto filter = name_filter(names);
            auto [logits, cache] = s.model->run_with_cache(
                [&] { return forward_batch(s, samples, with_answers); }, filter);
            py::dict d;
            for (const auto& n : cache.names()) d[py::str(n)] = cache[n];
            return py::make_tuple(logits, d);
          },
          py::arg("samples"), py::arg("names") = py::none(), py::arg("with_answers") = false,
          "(logits, {hook name: activation}); names: None (all), a name, a list or a "
          "predicate")
      .def(
          "run_with_hooks",
          [](Model& s, const py::object& samples, const std::vector<py::tuple>& fwd_hooks,
             bool with_answers) {
            torch::NoGradGuard no_grad;
            std::vector<std::pair<std::string, nn::HookFn>> hooks;
            for (const auto& h : fwd_hooks) {
              CS_CHECK_AS(ConfigError, h.size() == 2,
                          "each hook is a (name, function(activation, name)) pair");
              auto fn = h[1].cast<py::function>();
              hooks.emplace_back(h[0].cast<std::string>(),
                                 [fn](const torch::Tensor& x,
                                      const std::string& name) -> std::optional<torch::Tensor> {
                                   const auto r = fn(x, name);
                                   if (r.is_none()) return std::nullopt;
                                   const auto y = r.cast<torch::Tensor>();
                                   CS_CHECK_AS(ShapeError, y.sizes() == x.sizes(), "the hook on ",
                                               name, " returned shape ", y.sizes(),
                                               " for an activation of ", x.sizes());
                                   return y;
                                 });
            }
            return s.model->run_with_hooks(hooks,
                                           [&] { return forward_batch(s, samples, with_answers); });
          },
          py::arg("samples"), py::arg("fwd_hooks"), py::arg("with_answers") = false,
          "Logits with (name, fn) hooks attached; fn(activation, name) returns a replacement "
          "tensor or None (observe only)")
      .def(
          "generate",
          [](Model& s, const py::object& samples, int max_new_tokens) {
            const auto b = s.batch(samples_from_python(samples), false);
            mm::GenerateOptions gen;
            gen.max_new_tokens = max_new_tokens;
            s.model->eval();
            const auto out = s.model->generate(b.prompts, b.inputs, gen, s.tokenizer.im_end_id());
            std::vector<std::string> text;
            for (const auto& ids : out) text.push_back(s.tokenizer.decode(ids));
            return text;
          },
          py::arg("samples"), py::arg("max_new_tokens") = 12,
          "Greedy answers (one string per sample); hooks attached with hooks() stay active")
      .def(
          "evaluate",
          [](Model& s, const std::string& task, const std::string& split, std::int64_t samples) {
            mm::EvalOptions o;
            o.split = interp::parse_split(split);
            o.samples = samples;
            const auto t = mm::make_task(task);
            const auto r = mm::evaluate(*s.model, s.tokenizer, *t, o);
            py::dict d;
            d["task"] = task;
            d["score"] = r.score;
            d["samples"] = r.samples;
            d["predictions"] = r.predictions;
            d["answers"] = r.answers;
            return d;
          },
          py::arg("task"), py::arg("split") = "test", py::arg("samples") = 200,
          "Generates answers for a task's samples and scores them");

  m.def(
      "load_model",
      [](const std::string& name) {
        auto loaded = mm::load_model_with_tokenizer(name);
        auto out = std::make_shared<Model>();
        out->model = loaded.model;
        out->tokenizer = std::move(loaded.tokenizer);
        out->name = name;
        out->model->eval();
        return out;
      },
      py::arg("name"), "A built-in model (cs-tiny-vl, cs-tiny-audio) or a ClearSight model folder");
  m.def("task_names", &mm::task_names, "The synthetic tasks");
  m.def(
      "task_sample",
      [](const std::string& task, const std::string& split, std::int64_t index) {
        return sample_to_dict(mm::make_task(task)->sample(interp::parse_split(split), index));
      },
      py::arg("task"), py::arg("split") = "test", py::arg("index") = 0,
      "One sample of a task as a dict (prompt, answer, image/video uint8, audio float32)");
}

}  // namespace clearsight::python
