// libFuzzer target: the JSON config loader (config::load_file), the `--set key.path=value`
// override parser (config::apply_override) and the binding of the result to real config structs
// (config::from_json of wm::WmTrainConfig and sensor::SensorTrainConfig, their validate(), to_json
// and its dump) must either succeed or throw a clearsight::Error; any other exception or a
// sanitizer report is a bug.
//
// Input: the config file's bytes, then zero or more overrides, each introduced by a NUL byte
// ("{...}\0model.lr=1e-3\0env=walker-walk"), applied in order as the CLI applies --set.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "clearsight/core/config.h"
#include "clearsight/sensor/config.h"
#include "clearsight/wm/config.h"
#include "fuzz_input.h"

namespace {

template <typename T>
void bind(const clearsight::config::Json& raw, const char* path) {
  clearsight::fuzz::expect_clearsight_errors([&] {
    const T value = clearsight::config::from_json<T>(raw, path);
    // The resolved config is written to every run directory: it must serialise.
    (void)clearsight::config::to_json(value).dump();
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace config = clearsight::config;
  static clearsight::fuzz::InputFile file("config_fuzz");
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  std::vector<std::string_view> overrides;
  for (auto at = nul; at != std::string_view::npos;) {
    const auto next = input.find('\0', at + 1);
    overrides.push_back(
        input.substr(at + 1, next == std::string_view::npos ? next : next - at - 1));
    at = next;
  }
  config::Json raw;
  bool loaded = false;
  clearsight::fuzz::expect_clearsight_errors([&] {
    raw = config::load_file(
        file.write(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    loaded = true;
  });
  if (!loaded) raw = config::Json::object();  // The CLI's start without a config file.
  for (const auto o : overrides) {
    clearsight::fuzz::expect_clearsight_errors([&] { config::apply_override(raw, o); });
  }
  // Whatever the overrides made must print (the CLI logs it) and bind or be rejected cleanly.
  clearsight::fuzz::expect_clearsight_errors([&] { (void)raw.dump(); });
  bind<clearsight::wm::WmTrainConfig>(raw, "wm");
  bind<clearsight::sensor::SensorTrainConfig>(raw, "sensor");
  if (raw.is_object() && raw.contains("agent")) {
    bind<clearsight::wm::WmTrainConfig>(raw["agent"], "agent");
  }
  return 0;
}
