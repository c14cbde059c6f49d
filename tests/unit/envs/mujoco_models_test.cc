// The MJCF models written for this project against the documented Gymnasium / DM Control values
// in assets/mjcf/reference_dimensions.json.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/envs/mujoco_env.h"

namespace clearsight::envs {
namespace {

using nlohmann::json;

constexpr double kRelTol = 1e-2;

void expect_close(double actual, double expected, const std::string& what) {
  const double scale = std::max(1e-6, std::fabs(expected));
  EXPECT_LE(std::fabs(actual - expected) / scale, kRelTol)
      << what << ": model has " << actual << ", documented " << expected;
}

int id_of(const mjModel* m, mjtObj type, const std::string& name, const std::string& model) {
  const int id = mj_name2id(m, type, name.c_str());
  EXPECT_GE(id, 0) << model << ": no object named '" << name << "'";
  return id;
}

TEST(EnvsModels, EveryDocumentedModelMatchesItsTable) {
  const json table = json::parse(read_file(assets_dir() / "mjcf" / "reference_dimensions.json"));
  ASSERT_EQ(table.size(), 7u);
  for (const auto& [model_name, ref] : table.items()) {
    SCOPED_TRACE(model_name);
    const auto model = load_mjcf(model_name + ".xml");
    const mjModel* m = model.get();
    EXPECT_EQ(m->nq, ref["nq"].get<int>());
    EXPECT_EQ(m->nv, ref["nv"].get<int>());
    EXPECT_EQ(m->nu, ref["nu"].get<int>());
    expect_close(m->opt.timestep, ref["timestep"].get<double>(), "timestep");
    const std::string integrator = ref["integrator"];
    EXPECT_EQ(m->opt.integrator, integrator == "RK4" ? mjINT_RK4 : mjINT_EULER);
    // Joint order decides the observation layout.
    const auto& order = ref["joint_order"];
    ASSERT_EQ(static_cast<int>(order.size()), m->njnt);
    for (int j = 0; j < m->njnt; ++j) {
      EXPECT_STREQ(mj_id2name(m, mjOBJ_JOINT, j), order[j].get<std::string>().c_str());
    }
    for (const auto& [body, mass] : ref["body_mass"].items()) {
      const int id = id_of(m, mjOBJ_BODY, body, model_name);
      if (id >= 0) expect_close(m->body_mass[id], mass.get<double>(), "mass of " + body);
    }
    const bool degrees = ref.contains("joint_range_deg");
    const auto& ranges = degrees ? ref["joint_range_deg"] : ref["joint_range_rad"];
    for (const auto& [joint, range] : ranges.items()) {
      const int id = id_of(m, mjOBJ_JOINT, joint, model_name);
      if (id < 0) continue;
      EXPECT_TRUE(m->jnt_limited[id]) << joint;
      const double to_unit = degrees ? 180.0 / M_PI : 1.0;
      const double lo = range[0].get<double>(), hi = range[1].get<double>();
      EXPECT_NEAR(m->jnt_range[2 * id] * to_unit, lo, 1e-2 * std::max(1.0, std::fabs(lo))) << joint;
      EXPECT_NEAR(m->jnt_range[2 * id + 1] * to_unit, hi, 1e-2 * std::max(1.0, std::fabs(hi)))
          << joint;
    }
    for (const auto& [actuator, gear] : ref["gear"].items()) {
      const int id = id_of(m, mjOBJ_ACTUATOR, actuator, model_name);
      if (id >= 0) expect_close(m->actuator_gear[6 * id], gear.get<double>(), "gear " + actuator);
      if (id >= 0) {
        EXPECT_TRUE(m->actuator_ctrllimited[id]);
        EXPECT_EQ(m->actuator_ctrlrange[2 * id], -1.0);
        EXPECT_EQ(m->actuator_ctrlrange[2 * id + 1], 1.0);
      }
    }
    for (const auto& [geom, length] : ref["segment_length"].items()) {
      const int id = id_of(m, mjOBJ_GEOM, geom, model_name);
      if (id >= 0) {
        expect_close(2.0 * m->geom_size[3 * id + 1], length.get<double>(), "length of " + geom);
      }
    }
    const int floor = id_of(m, mjOBJ_GEOM, "floor", model_name);
    if (floor >= 0) {
      for (int k = 0; k < 3; ++k) {
        expect_close(m->geom_friction[3 * floor + k], ref["friction"][k].get<double>(),
                     "floor friction");
      }
    }
    if (ref.contains("geom_friction")) {
      for (const auto& [geom, friction] : ref["geom_friction"].items()) {
        const int id = id_of(m, mjOBJ_GEOM, geom, model_name);
        if (id >= 0) expect_close(m->geom_friction[3 * id], friction[0].get<double>(), geom);
      }
    }
    EXPECT_GE(mj_name2id(m, mjOBJ_BODY, "torso"), 0) << "cameras track 'torso'";
  }
}

TEST(EnvsModels, HopperMassesMatchTheReferenceNotes) {
  // Body masses of the standard hopper (reference notes, section 5).
  const auto model = load_mjcf("hopper.xml");
  const mjModel* m = model.get();
  const std::pair<const char*, double> expected[] = {
      {"torso", 3.67}, {"thigh", 4.06}, {"leg", 2.78}, {"foot", 5.32}};
  for (const auto& [name, mass] : expected) {
    EXPECT_NEAR(m->body_mass[mj_name2id(m, mjOBJ_BODY, name)], mass, 0.01) << name;
  }
}

TEST(EnvsModels, MissingModelIsAnIoErrorNamingTheVariable) {
  try {
    load_mjcf("no_such_model.xml");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("CLEARSIGHT_ASSETS"), std::string::npos);
  }
}

}  // namespace
}  // namespace clearsight::envs
