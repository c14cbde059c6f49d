#include "clearsight/sensor/config.h"

#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::sensor {

void SensorConfig::validate() const {
  CS_CHECK_AS(ConfigError, sensor_every >= 1, "sensor.sensor_every must be >= 1, got ",
              sensor_every);
  CS_CHECK_AS(ConfigError, max_camera_delta.size() == 3,
              "sensor.max_camera_delta must be [distance, azimuth, elevation]");
  for (double d : max_camera_delta) {
    CS_CHECK_AS(ConfigError, std::isfinite(d) && d >= 0, "sensor.max_camera_delta must be >= 0");
  }
  CS_CHECK_AS(UnknownNameError, learning == "joint" || learning == "decoupled",
              "unknown sensor.learning '", learning, "' (valid: joint, decoupled)");
  CS_CHECK_AS(ConfigError, ensemble >= 1 && ensemble <= 64, "sensor.ensemble must be in 1..64");
  CS_CHECK_AS(ConfigError, disc_hidden >= 1, "sensor.disc_hidden must be >= 1");
  CS_CHECK_AS(ConfigError, std::isfinite(disc_lr) && disc_lr > 0 && disc_lr < 1,
              "sensor.disc_lr must be in (0, 1)");
  CS_CHECK_AS(ConfigError, std::isfinite(gradient_penalty) && gradient_penalty >= 0,
              "sensor.gradient_penalty must be >= 0");
  CS_CHECK_AS(UnknownNameError,
              aggregate == "mean" || aggregate == "min" || aggregate == "mean-std",
              "unknown sensor.aggregate '", aggregate, "' (valid: mean, min, mean-std)");
  CS_CHECK_AS(ConfigError,
              std::isfinite(epsilon_min) && std::isfinite(epsilon_max) && epsilon_min >= 0 &&
                  epsilon_min <= epsilon_init && epsilon_init <= epsilon_max,
              "sensor.epsilon_init must lie in [epsilon_min, epsilon_max], got ", epsilon_init,
              " in [", epsilon_min, ", ", epsilon_max, "]");
  CS_CHECK_AS(ConfigError, target_accuracy >= 0 && target_accuracy <= 1,
              "sensor.target_accuracy must be in [0, 1]");
  CS_CHECK_AS(ConfigError, std::isfinite(epsilon_rate) && epsilon_rate >= 0,
              "sensor.epsilon_rate must be >= 0");
  CS_CHECK_AS(ConfigError, !(learning == "decoupled" && !sensor_policy),
              "sensor.learning = decoupled needs the sensor policy");
}

void SensorTrainConfig::validate() const {
  agent.validate();
  sensor.validate();
  CS_CHECK_AS(ConfigError, !demos.empty(), "give at least one expert demonstration file (--demos)");
  CS_CHECK_AS(ConfigError, demo_view >= 0, "demo_view must be >= 0");
  CS_CHECK_AS(ConfigError, agent.demos.empty(),
              "agent.demos is the world-model agent's option; SENSOR reads its experts from demos");
}

SensorTrainConfig sensor_variant(const std::string& name, SensorTrainConfig base) {
  base.variant = name;
  auto& s = base.sensor;
  if (name == "sensor") return base;
  if (name == "sensor-decoupled") {
    s.learning = "decoupled";
    return base;
  }
  if (name == "fixed-camera") {
    s.sensor_policy = false;
    return base;
  }
  if (name == "expert-camera") {
    s.sensor_policy = false;
    s.start_at_expert_camera = true;
    return base;
  }
  if (name == "single-discriminator") {
    s.ensemble = 1;
    return base;
  }
  if (name == "fixed-epsilon") {
    s.adaptive_epsilon = false;
    return base;
  }
  CS_THROW(UnknownNameError, "unknown SENSOR variant '", name,
           "' (valid: ", join(sensor_variant_names(), ", "), ")");
}

std::vector<std::string> sensor_variant_names() {
  return {"sensor",        "sensor-decoupled",     "fixed-camera",
          "expert-camera", "single-discriminator", "fixed-epsilon"};
}

}  // namespace clearsight::sensor
