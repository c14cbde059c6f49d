// Runs the clearsight program as a user would and checks exit codes, output and error lines.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/safetensors.h"
#include "cli_runner.h"

namespace clearsight {
namespace {

using testing::run_cli;

std::string make_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

TEST(IntegrationCli, VersionAndHelp) {
  testing::TempDir dir;
  auto r = run_cli("--version", dir);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("clearsight 0."), std::string::npos) << r.out;
  r = run_cli("--help", dir);
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub : {"info", "safetensors", "selftest"}) {
    EXPECT_NE(r.out.find(sub), std::string::npos) << sub;
  }
  r = run_cli("no-such-command", dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.crashed);
}

TEST(IntegrationCli, InfoReportsOpenBlasAsJson) {
  testing::TempDir dir;
  const auto r = run_cli("info --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["blas"]["vendor"], "OpenBLAS") << r.out;
  EXPECT_GT(info["blas"]["matmul_512_gflops"].get<double>(), 0.0);
  EXPECT_EQ(info["threads"], 1);
  EXPECT_FALSE(info["mujoco"].get<std::string>().empty());
  EXPECT_EQ(info["device"], "cpu");
  const auto human = run_cli("info", dir);
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("BLAS         OpenBLAS"), std::string::npos) << human.out;
}

TEST(IntegrationCli, BadDeviceIsAClearError) {
  testing::TempDir dir;
  auto r = run_cli("--device tpu info", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("config error: device 'tpu' is not valid"), std::string::npos) << r.err;
}

TEST(IntegrationCli, InspectValidFile) {
  testing::TempDir dir;
  safetensors::save(dir / "m.safetensors",
                    {{"embed.weight", torch::zeros({10, 4})}, {"head.bias", torch::zeros({3})}},
                    {{"model", "tiny"}});
  auto r = run_cli("safetensors inspect --json " + (dir / "m.safetensors").string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["tensors"].size(), 2u);
  EXPECT_EQ(doc["tensors"][0]["name"], "embed.weight");
  EXPECT_EQ(doc["tensors"][0]["shape"], nlohmann::json::array({10, 4}));
  EXPECT_EQ(doc["tensors"][0]["bytes"], 160);
  EXPECT_EQ(doc["metadata"]["model"], "tiny");
  r = run_cli("safetensors inspect " + (dir / "m.safetensors").string(), dir);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("embed.weight"), std::string::npos);
  EXPECT_NE(r.out.find("[10, 4]"), std::string::npos);
  EXPECT_NE(r.out.find("model: tiny"), std::string::npos);
}

TEST(IntegrationCli, MalformedFilesGiveOneClearLineAndNoCrash) {
  testing::TempDir dir;
  const std::vector<std::pair<std::string, std::string>> files = {
      {"empty", ""},
      {"truncated_header", make_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_of)", "")},
      {"length_past_end", std::string("\xff\xff\x00\x00\x00\x00\x00\x00{}", 10)},
      {"not_json", make_bytes("{hello}", "")},
      {"overlap", make_bytes(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                             std::string(6, '\0'))},
      {"out_of_range", make_bytes(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})",
                                  std::string(4, '\0'))},
      {"byte_mismatch", make_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                                   std::string(8, '\0'))},
      {"duplicate", make_bytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                               R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                               "xy")},
  };
  for (const auto& [name, bytes] : files) {
    const auto path = dir / (name + ".safetensors");
    testing::write_bytes(path, bytes);
    const auto r = run_cli("safetensors inspect " + path.string(), dir);
    EXPECT_EQ(r.exit_code, 1) << name << ": " << r.err;
    EXPECT_FALSE(r.crashed) << name;
    EXPECT_EQ(r.err.rfind("clearsight: format error: ", 0), 0u) << name << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << name << ": " << r.err;
    EXPECT_NE(r.err.find(path.string()), std::string::npos) << name << ": names the file";
    EXPECT_TRUE(r.out.empty()) << name;
  }
  const auto missing = run_cli("safetensors inspect " + (dir / "nope").string(), dir);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("io error: cannot open"), std::string::npos) << missing.err;
}

TEST(IntegrationCli, SelftestWritesARunDirectory) {
  testing::TempDir dir;
  const auto run = dir / "run";
  auto r = run_cli("--seed 3 selftest --set steps=60 --set hidden=64 --out " + run.string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("weights round-trip ok"), std::string::npos) << r.out;
  const auto config = nlohmann::json::parse(read_file(run / "config.json"));
  EXPECT_EQ(config["steps"], 60);
  EXPECT_EQ(config["runtime"]["seed"], 3);
  const auto summary = nlohmann::json::parse(read_file(run / "summary.json"));
  EXPECT_TRUE(summary["learned"].get<bool>());
  EXPECT_LT(summary["last_loss"].get<double>(), summary["first_loss"].get<double>());
  EXPECT_FALSE(read_file(run / "metrics.jsonl").empty());
  EXPECT_EQ(safetensors::File::open(run / "student.safetensors").metadata().at("producer"),
            "clearsight selftest");
  r = run_cli("selftest --set stepz=3 --out " + (dir / "bad").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown config key 'selftest.stepz'; did you mean 'steps'"),
            std::string::npos)
      << r.err;
}

// A run folder held by one process is refused to another, which names the holder and writes
// nothing; once released it can be used.
TEST(IntegrationCli, RunFolderLock) {
  testing::TempDir dir;
  const auto out = dir / "miner";
  const std::string command = "miner run --model cs-tiny-vl --out " + out.string() +
                              " --score-samples 1 --eval-samples 1 --random-seeds 1";
  {
    const auto held = RunDir::at(out);
    const auto r = testing::run_cli(command, dir);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(
        r.err.find("in use by another clearsight process (pid " + std::to_string(::getpid()) + ")"),
        std::string::npos)
        << r.err;
    EXPECT_FALSE(std::filesystem::exists(out / "config.json"));
  }
  const auto r = testing::run_cli(command, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Usage errors keep the error contract (one line, exit 1), seeds outside 0..2^64-1 are refused
// instead of wrapping, and a missing input names what was expected.
TEST(IntegrationCli, UsageErrorsAreOneLineAndExitOne) {
  testing::TempDir dir;
  for (const std::string bad :
       {"--seed abc info", "--seed -1 info", "--seed 18446744073709551616 info", "no-such-command",
        "info --no-such-flag", "info --seed abc", "env rollout --env Hopper-v4 --seed -1",
        "miner report"}) {
    const auto r = run_cli(bad, dir);
    EXPECT_EQ(r.exit_code, 1) << bad;
    EXPECT_EQ(r.err.rfind("clearsight: usage error: ", 0), 0u) << bad << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << bad << ": " << r.err;
  }
  EXPECT_EQ(run_cli("--seed 18446744073709551615 --version", dir).exit_code, 0);
  auto r = run_cli("imitate --algo bc --env Hopper-v4 --out " + (dir / "bc").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("needs demonstrations: --demos"), std::string::npos) << r.err;
  testing::write_bytes(dir / "demo.h5", "not really");
  r = run_cli("demos noise " + (dir / "demo.h5").string() + " --noise gauss:0.1 --out " +
                  (dir / "demo.h5").string(),
              dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is the input file"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(dir / "demo.h5"), "not really");
}

// The error contract over every kind a user can cause: one line "clearsight: <kind>: ...", exit
// 1, and no output left behind.
TEST(IntegrationCli, EveryErrorKindIsOneLineExitOneAndLeavesNothing) {
  testing::TempDir dir;
  testing::write_bytes(dir / "garbage.h5", "not an HDF5 file");
  // A PNG header declaring 10000 x 10000 pixels (100 MP): refused before decoding.
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x27\x10\0\0\x27\x10\x08\x02\0\0\0", 29);
  png += std::string(4, '\0');
  testing::write_bytes(dir / "huge.png", png);
  auto r = run_cli("--seed 1 demos collect --expert random --env Hopper-v4 --episodes 1 --out " +
                       (dir / "nan.h5").string(),
                   dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"import h5py; f = h5py.File('" +
                         (dir / "nan.h5").string() +
                         "', 'r+'); f['rewards'][3] = float('nan'); f.close()\"")
                            .c_str()),
            0);
  const std::string out = (dir / "out").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"rl train --env Hopper-v4 --steps 10 --out " + out + " --set sac.batch_size=0",
       "config error"},
      {"rl train --env Hopper-v4 --steps 10 --out " + out + " --set sac.actor_lr=1e999",
       "config error"},
      {"rl train --env Hopper-v4 --steps 10 --out " + out + " --config /dev/zero", "io error"},
      {"demos inspect " + (dir / "missing.h5").string(), "io error"},
      {"demos inspect " + (dir / "garbage.h5").string(), "format error"},
      {"demos inspect " + (dir / "nan.h5").string(), "numeric error"},
      {"mm ask --model cs-tiny-vl --image " + (dir / "huge.png").string() + " what", "shape error"},
      {"env rollout --env NoSuch-v0", "unknown name"},
      {"demos inspect --env Walker2d-v4 " + (dir / "nan.h5").string(), "config error"},
  };
  for (const auto& [command, kind] : cases) {
    r = run_cli(command, dir);
    EXPECT_EQ(r.exit_code, 1) << command << ": " << r.err;
    EXPECT_EQ(r.err.rfind("clearsight: " + kind + ": ", 0), 0u) << command << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << command << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << command;
  }
}

}  // namespace
}  // namespace clearsight
