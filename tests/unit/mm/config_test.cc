#include "clearsight/mm/config.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/mm/presets.h"

namespace clearsight::mm {
namespace {

std::string config_error(const ModelConfig& c) {
  try {
    c.validate();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

// Zero or negative sizes are errors naming the field before any division by them (a zero
// hop_length or head count crashed with SIGFPE); unknown families are refused.
TEST(MmConfig, EveryTowerSizeIsCheckedByName) {
  EXPECT_NO_THROW(preset_config("cs-tiny-audio", 64).validate());
  EXPECT_NO_THROW(preset_config("cs-tiny-vl", 64).validate());
  const auto audio = [](auto&& edit) {
    auto c = preset_config("cs-tiny-audio", 64);
    edit(c.audio_config);
    return config_error(c);
  };
  EXPECT_NE(audio([](AudioConfig& a) { a.hop_length = 0; }).find("audio_config.hop_length"),
            std::string::npos);
  EXPECT_NE(audio([](AudioConfig& a) {
              a.encoder_attention_heads = 0;
            }).find("audio_config.encoder_attention_heads"),
            std::string::npos);
  EXPECT_NE(audio([](AudioConfig& a) { a.sample_rate = -16000; }).find("audio_config.sample_rate"),
            std::string::npos);
  auto vl = preset_config("cs-tiny-vl", 64);
  vl.vision_config.patch_size = 0;
  EXPECT_NE(config_error(vl).find("vision_config.patch_size"), std::string::npos);
  vl = preset_config("cs-tiny-vl", 64);
  vl.vision_config.num_heads = -1;
  EXPECT_NE(config_error(vl).find("vision_config.num_heads"), std::string::npos);
  vl = preset_config("cs-tiny-vl", 64);
  vl.model_type = "llama";
  EXPECT_NE(config_error(vl).find("unknown model_type 'llama'"), std::string::npos);
}

}  // namespace
}  // namespace clearsight::mm
