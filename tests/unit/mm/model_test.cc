#include "clearsight/mm/model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/mm/presets.h"
#include "test_util.h"

namespace clearsight::mm {
namespace {

Tokenizer test_tokenizer() {
  return Tokenizer::from_words({"what", "color", "is", "the", "circle", "red", "blue", "green",
                                "transcribe", "audio", "one", "two", "three"});
}

ModelConfig small(const std::string& preset, std::int64_t vocab) {
  auto c = preset_config(preset, vocab);
  c.num_hidden_layers = 2;
  c.intermediate_size = 64;
  return c;
}

MmInputs image_batch(const Tokenizer& tok, const MultimodalModel& model, int n) {
  std::vector<std::vector<std::int64_t>> prompts;
  std::int64_t longest = 0;
  for (int i = 0; i < n; ++i) {
    prompts.push_back(build_prompt(tok, i % 2 ? "what color is the circle" : "what color",
                                   {.image = true}, model.media_tokens()));
    longest = std::max<std::int64_t>(longest, prompts.back().size());
  }
  MmInputs in;
  in.input_ids = torch::zeros({n, longest}, torch::kInt64);
  in.attention_mask = torch::zeros({n, longest}, torch::kBool);
  for (int i = 0; i < n; ++i) {
    const auto len = static_cast<std::int64_t>(prompts[i].size());
    in.input_ids[i].narrow(0, 0, len).copy_(torch::tensor(prompts[i]));
    in.attention_mask[i].narrow(0, 0, len).fill_(true);
  }
  in.images = torch::randint(0, 256, {n, 3, 32, 32}).to(torch::kUInt8);
  return in;
}

TEST(MmModel, GoldenHookNamesPerPreset) {
  for (const auto& preset : preset_names()) {
    SCOPED_TRACE(preset);
    MultimodalModel model(preset_config(preset, 64));
    const auto& names = model.hook_names();
    const std::string expected_file =
        std::string(CS_SOURCE_DIR) + "/tests/unit/mm/golden/" + preset + ".hooks.txt";
    std::string actual;
    for (const auto& n : names) actual += n + "\n";
    if (std::getenv("CS_UPDATE_GOLDEN") != nullptr) {
      // Updating never passes: the run that writes the golden file cannot also confirm it.
      atomic_write(expected_file, actual);
      ADD_FAILURE() << "wrote " << expected_file
                    << "; review it and rerun without CS_UPDATE_GOLDEN";
      continue;
    }
    EXPECT_EQ(actual, read_file(expected_file))
        << "hook names changed; if intended, update " << expected_file;
  }
}

TEST(MmModel, IdentityHooksAreBitExactOnMultimodalInputs) {
  torch::manual_seed(0);
  const auto tok = test_tokenizer();
  MultimodalModel model(small("cs-tiny-vl", tok.size()));
  torch::NoGradGuard no_grad;
  const auto in = image_batch(tok, model, 3);
  const auto clean = model.forward(in);
  EXPECT_EQ(clean.sizes(), (std::vector<std::int64_t>{3, in.input_ids.size(1), tok.size()}));
  auto handles = model.add_hooks(
      [](const std::string&) { return true; },
      [](const torch::Tensor& x, const std::string&) { return std::optional<torch::Tensor>(x); });
  EXPECT_TRUE(torch::equal(model.forward(in), clean));
  EXPECT_TRUE(model.has_hook("vision.blocks.1.mlp.hook_post"));
  EXPECT_TRUE(model.has_hook("projector.hook_out"));
}

TEST(MmModel, GenerationWithKvCacheEqualsFullRecomputation) {
  torch::manual_seed(2);
  const auto tok = test_tokenizer();
  MultimodalModel model(small("cs-tiny-vl", tok.size()));
  torch::NoGradGuard no_grad;
  const auto media = image_batch(tok, model, 2);
  std::vector<std::vector<std::int64_t>> prompts;
  for (int i = 0; i < 2; ++i) {
    const auto len = media.attention_mask[i].sum().item<std::int64_t>();
    auto row = media.input_ids[i].narrow(0, 0, len);
    prompts.emplace_back(row.data_ptr<std::int64_t>(), row.data_ptr<std::int64_t>() + len);
  }
  const auto generated = model.generate(prompts, media, {.max_new_tokens = 6}, /*eos_id=*/-1);
  for (int i = 0; i < 2; ++i) {
    // Reference: recompute the whole sequence for every new token, one prompt at a time.
    auto seq = prompts[i];
    MmInputs single;
    single.images = media.images.narrow(0, i, 1);
    for (int t = 0; t < 6; ++t) {
      single.input_ids = torch::tensor(seq).unsqueeze(0);
      const auto logits = model.forward(single);
      seq.push_back(logits[0][-1].argmax().item<std::int64_t>());
    }
    const std::vector<std::int64_t> expected(seq.end() - 6, seq.end());
    EXPECT_EQ(generated[i], expected) << "prompt " << i;
  }
}

TEST(MmModel, SaveLoadRoundTripWithHuggingFaceNames) {
  testing::TempDir dir;
  torch::manual_seed(3);
  const auto tok = test_tokenizer();
  for (const auto& preset : preset_names()) {
    SCOPED_TRACE(preset);
    MultimodalModel model(small(preset, tok.size()));
    save_model(model, dir / preset, {{"preset", preset}});
    const auto file = safetensors::File::open(dir / preset / "model.safetensors");
    EXPECT_TRUE(file.contains("model.layers.0.mlp.gate_proj.weight"));
    EXPECT_TRUE(file.contains("model.layers.1.self_attn.q_proj.bias"));
    EXPECT_TRUE(file.contains("model.norm.weight"));
    if (preset == "cs-tiny-vl") {
      EXPECT_TRUE(file.contains("visual.merger.mlp.0.weight"));
      EXPECT_TRUE(file.contains("visual.blocks.0.attn.qkv.weight"));
      EXPECT_EQ(file.get("visual.patch_embed.proj.weight").dim(), 5);
    } else {
      EXPECT_TRUE(file.contains("audio_tower.layers.0.fc1.weight"));
      EXPECT_TRUE(file.contains("audio_tower.layers.1.self_attn_layer_norm.weight"));
      EXPECT_TRUE(file.contains("multi_modal_projector.linear.weight"));
    }
    const auto loaded = load_model(dir / preset);
    const auto a = model.named_parameters();
    const auto b = loaded->named_parameters();
    ASSERT_EQ(a.size(), b.size());
    for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
  }
}

TEST(MmModel, AudioModelRunsOnWaveforms) {
  torch::manual_seed(4);
  const auto tok = test_tokenizer();
  MultimodalModel model(small("cs-tiny-audio", tok.size()));
  torch::NoGradGuard no_grad;
  const auto prompt =
      build_prompt(tok, "transcribe the audio", {.audio = true}, model.media_tokens());
  EXPECT_EQ(model.media_tokens().audio, 50);
  MmInputs in;
  in.input_ids = torch::tensor(prompt).unsqueeze(0);
  in.audios = torch::randn({1, 32000}) * 0.1;
  auto [logits, cache] = model.run_with_cache([&] { return model.forward(in); });
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  EXPECT_EQ(cache["audio.hook_mel"].sizes(), (std::vector<std::int64_t>{1, 40, 200}));
  EXPECT_EQ(cache["projector.hook_out"].sizes(), (std::vector<std::int64_t>{1, 50, 128}));
  EXPECT_EQ(cache["blocks.0.mlp.hook_post"].sizes(),
            (std::vector<std::int64_t>{1, static_cast<std::int64_t>(prompt.size()), 64}));
  in.audios = torch::full({1, 32000}, NAN);
  EXPECT_THROW(model.forward(in), NumericError);
}

TEST(MmModel, MediaCountMismatchAndBadFilesAreClearErrors) {
  testing::TempDir dir;
  const auto tok = test_tokenizer();
  MultimodalModel model(small("cs-tiny-vl", tok.size()));
  auto in = image_batch(tok, model, 2);
  in.images = in.images.narrow(0, 0, 1);
  EXPECT_THROW(model.forward(in), ShapeError);
  in.images = torch::zeros({2, 3, 16, 16}, torch::kUInt8);
  EXPECT_THROW(model.forward(in), ShapeError);

  save_model(model, dir / "m");
  auto config_text = read_file(dir / "m" / "config.json");
  testing::write_bytes(
      dir / "m" / "config.json",
      config_text.replace(config_text.find("\"hidden_size\""), 13, "\"hiden_size\""));
  try {
    load_model(dir / "m");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'hidden_size'"), std::string::npos)
        << e.what();
  }
  save_model(model, dir / "m");
  auto other = small("cs-tiny-vl", tok.size());
  other.intermediate_size = 32;
  save_model_config(other, dir / "m" / "config.json");
  EXPECT_THROW(load_model(dir / "m"), ShapeError);
  EXPECT_THROW(load_model(dir / "missing"), IoError);
}

TEST(MmModel, MicroModelLearnsToAnswerFromTheImage) {
  // The answer is the colour of the image (all red or all blue): the loss must fall well below
  // chance (ln 2) within a short training run.
  torch::manual_seed(5);
  const auto tok = test_tokenizer();
  MultimodalModel model(small("cs-tiny-vl", tok.size()));
  torch::optim::Adam opt(model.parameters(), torch::optim::AdamOptions(3e-3));
  const auto prompt = build_prompt(tok, "what color", {.image = true}, model.media_tokens());
  const auto red = tok.id("red"), blue = tok.id("blue");
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    const int n = 8;
    auto colours = torch::randint(0, 2, {n});
    auto images = torch::zeros({n, 3, 32, 32}, torch::kUInt8);
    std::vector<std::int64_t> targets;
    for (int i = 0; i < n; ++i) {
      const bool is_red = colours[i].item<int>() == 1;
      images[i][is_red ? 0 : 2].fill_(220);
      targets.push_back(is_red ? red : blue);
    }
    MmInputs in;
    in.input_ids = torch::tensor(prompt).unsqueeze(0).repeat({n, 1});
    in.images = images;
    const auto logits = model.forward(in).select(1, in.input_ids.size(1) - 1);
    const auto loss = torch::cross_entropy_loss(logits, torch::tensor(targets));
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  EXPECT_LT(last, 0.3) << "first loss " << first;
}

TEST(MmTokenizer, EncodeDecodeModalitiesAndFiles) {
  testing::TempDir dir;
  const auto tok = test_tokenizer();
  EXPECT_EQ(tok.id("<|im_start|>"), tok.im_start_id());
  EXPECT_EQ(tok.id("<|AUDIO|>"), tok.audio_id());
  const auto ids = tok.encode("What color is the CIRCLE zebra");
  EXPECT_EQ(ids.back(), tok.unk_id());
  EXPECT_EQ(tok.decode(ids), "what color is the circle <|unk|>");
  EXPECT_EQ(tok.modality(tok.image_pad_id()), Modality::kImage);
  EXPECT_EQ(tok.modality(tok.video_pad_id()), Modality::kVideo);
  EXPECT_EQ(tok.modality(tok.audio_id()), Modality::kAudio);
  EXPECT_EQ(tok.modality(tok.vision_start_id()), Modality::kSpecial);
  EXPECT_EQ(tok.modality(tok.id("red")), Modality::kText);
  const auto prompt = build_prompt(tok, "what color", {.image = true}, {.image = 16});
  EXPECT_EQ(std::count(prompt.begin(), prompt.end(), tok.image_pad_id()), 16);
  EXPECT_EQ(tok.decode(prompt, true).substr(0, 19), "<|im_start|> system");
  tok.save(dir / "vocab.txt");
  const auto back = Tokenizer::load(dir / "vocab.txt");
  EXPECT_EQ(back.size(), tok.size());
  EXPECT_EQ(back.id("three"), tok.id("three"));
  testing::write_bytes(dir / "bad.txt", "hello\nworld\n");
  EXPECT_THROW(Tokenizer::load(dir / "bad.txt"), FormatError);
}

TEST(MmLogMel, FilterbankAndToneLandInTheRightBand) {
  const auto filters = mel_filterbank(16000, 400, 40);
  EXPECT_EQ(filters.sizes(), (std::vector<std::int64_t>{40, 201}));
  EXPECT_GE(filters.min().item<float>(), 0.0f);
  // Peaks move up in frequency band by band.
  const auto peaks = filters.argmax(1);
  for (int m = 1; m < 40; ++m)
    EXPECT_GE(peaks[m].item<std::int64_t>(), peaks[m - 1].item<std::int64_t>());
  AudioConfig config;
  LogMel log_mel(config);
  const auto t = torch::arange(32000, torch::kFloat32) / 16000.0;
  const auto tone = (t * 2.0 * M_PI * 1000.0).sin().unsqueeze(0) * 0.5;
  const auto mel = log_mel(tone);
  EXPECT_EQ(mel.sizes(), (std::vector<std::int64_t>{1, 40, 200}));
  const auto band = mel[0].mean(1).argmax().item<std::int64_t>();
  const auto expected = filters.select(1, 25).argmax().item<std::int64_t>();  // 1 kHz = bin 25.
  EXPECT_LE(std::abs(band - expected), 1);
}

}  // namespace
}  // namespace clearsight::mm
