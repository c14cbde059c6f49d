#include "clearsight/il/demos.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdlib>
#include <limits>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/il/noise.h"
#include "test_util.h"
#include "unit/il/demo_fixtures.h"

namespace clearsight::il {
namespace {

using clearsight::testing::TempDir;

/// Opens a demonstration file read-write with the HDF5 C API (the tests corrupt it).
class RawFile {
 public:
  explicit RawFile(const std::filesystem::path& path)
      : id_(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)) {
    EXPECT_GE(id_, 0) << path;
  }
  ~RawFile() { H5Fclose(id_); }
  hid_t id() const { return id_; }

 private:
  hid_t id_;
};

template <typename E>
std::string error_of(const std::filesystem::path& path, const std::string& env = "") {
  try {
    load_demos(path, env);
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong error type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error for " << path;
  return "";
}

TEST(IlDemos, RoundTripIsBitExact) {
  TempDir dir;
  auto d = testing::make_dataset(3, 19, 5, 2, /*images=*/true);
  d.meta.noise = NoiseSpec::parse("gauss:0.25+drop:1,3").to_json().dump();
  save_demos(dir / "demos.h5", d);
  const auto back = load_demos(dir / "demos.h5", "Hopper-v4");
  EXPECT_TRUE(torch::equal(back.observations, d.observations));
  EXPECT_TRUE(torch::equal(back.actions, d.actions));
  EXPECT_TRUE(torch::equal(back.rewards, d.rewards));
  EXPECT_TRUE(torch::equal(back.next_observations, d.next_observations));
  EXPECT_TRUE(torch::equal(back.terminals, d.terminals));
  EXPECT_TRUE(torch::equal(back.timeouts, d.timeouts));
  EXPECT_TRUE(torch::equal(back.images, d.images));
  EXPECT_TRUE(torch::equal(back.camera_poses, d.camera_poses));
  EXPECT_EQ(back.observations.scalar_type(), torch::kFloat32);
  EXPECT_EQ(back.terminals.scalar_type(), torch::kBool);
  const auto& m = back.meta;
  EXPECT_EQ(m.env, "Hopper-v4");
  EXPECT_EQ(m.expert, "tests/expert");
  EXPECT_EQ(m.expert_return, 123.5);
  EXPECT_EQ(m.noise, d.meta.noise);
  EXPECT_EQ(m.seed, 7u);
  EXPECT_EQ(m.noise_seed, 11u);
  EXPECT_FALSE(m.deterministic);
  EXPECT_EQ(m.clearsight_version, d.meta.clearsight_version);
  EXPECT_EQ(m.episode_lengths, (std::vector<std::int64_t>{19, 19, 19}));
  EXPECT_EQ(m.episode_returns, d.meta.episode_returns);
  EXPECT_EQ(m.episode_expert, (std::vector<std::uint8_t>{1, 0, 1}));
  EXPECT_EQ(back.episode_starts(), (std::vector<std::int64_t>{0, 19, 38}));
  EXPECT_EQ(clearsight::testing::count_temp_files(dir.path()), 0);
}

TEST(IlDemos, StateOnlyFileDerivesEpisodes) {
  TempDir dir;
  auto d = testing::make_dataset(4, 7, 3, 1, /*images=*/false);
  d.meta.episode_lengths.clear();
  d.meta.episode_returns.clear();
  d.meta.episode_expert.clear();
  d.meta.expert_return = std::numeric_limits<double>::quiet_NaN();
  save_demos(dir / "d.h5", d);
  const auto back = load_demos(dir / "d.h5");
  EXPECT_FALSE(back.has_images());
  EXPECT_EQ(back.episodes(), 4);
  EXPECT_TRUE(std::isnan(back.meta.expert_return));
  EXPECT_EQ(NoiseSpec::from_json(nlohmann::json::parse(back.meta.noise)).to_string(), "none");
  const double first = d.rewards.slice(0, 0, 7).to(torch::kFloat64).sum().item<double>();
  EXPECT_DOUBLE_EQ(back.meta.episode_returns[0], first);
}

TEST(IlDemos, FailedWriteLeavesExistingFileIntact) {
  TempDir dir;
  const auto path = dir / "demos.h5";
  save_demos(path, testing::make_dataset(2, 5, 3, 2, false));
  const std::string before = read_file(path);
  auto bad = testing::make_dataset(2, 5, 3, 2, false, 2);
  bad.observations[3][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(save_demos(path, bad), NumericError);
  auto wrong = testing::make_dataset(2, 5, 3, 2, false, 2);
  wrong.actions = wrong.actions.slice(0, 0, 9);
  EXPECT_THROW(save_demos(path, wrong), ShapeError);
  // The temporary file is written completely, then the rename fails (the target is a folder).
  std::filesystem::create_directory(dir / "taken.h5");
  EXPECT_THROW(save_demos(dir / "taken.h5", testing::make_dataset(2, 5, 3, 2, false)), IoError);
  EXPECT_THROW(save_demos(dir / "missing" / "x.h5", testing::make_dataset(1, 5, 3, 2, false)),
               IoError);
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(clearsight::testing::count_temp_files(dir.path()), 0);
}

TEST(IlDemos, MissingGarbageAndTruncatedFiles) {
  TempDir dir;
  EXPECT_THROW(load_demos(dir / "absent.h5"), IoError);
  EXPECT_THROW(load_demos(dir.path()), IoError);
  clearsight::testing::write_bytes(dir / "empty.h5", "");
  EXPECT_NE(error_of<FormatError>(dir / "empty.h5").find("not an HDF5 file"), std::string::npos);
  clearsight::testing::write_bytes(dir / "garbage.h5", std::string(4096, 'x'));
  EXPECT_NE(error_of<FormatError>(dir / "garbage.h5").find("not an HDF5 file"), std::string::npos);
  save_demos(dir / "good.h5", testing::make_dataset(3, 40, 6, 2, true));
  const std::string bytes = read_file(dir / "good.h5");
  for (std::size_t cut :
       {std::size_t{4}, std::size_t{9}, std::size_t{100}, std::size_t{800}, bytes.size() / 3,
        bytes.size() / 2, bytes.size() - 100, bytes.size() - 1}) {
    SCOPED_TRACE(cut);
    clearsight::testing::write_bytes(dir / "cut.h5", bytes.substr(0, cut));
    error_of<FormatError>(dir / "cut.h5");
  }
  // Garbage in the middle of the file (object headers and data).
  std::string damaged = bytes;
  for (std::size_t i = 96; i < damaged.size(); i += 7) damaged[i] = static_cast<char>(0xA5);
  clearsight::testing::write_bytes(dir / "damaged.h5", damaged);
  EXPECT_THROW(load_demos(dir / "damaged.h5"), Error);
}

TEST(IlDemos, MissingDatasetOrAttributeIsNamed) {
  TempDir dir;
  save_demos(dir / "good.h5", testing::make_dataset(2, 6, 4, 2, true));
  for (const std::string key : {"observations", "actions", "rewards", "next_observations",
                                "terminals", "timeouts", "camera_poses", "episodes/lengths"}) {
    SCOPED_TRACE(key);
    std::filesystem::copy_file(dir / "good.h5", dir / "cut.h5",
                               std::filesystem::copy_options::overwrite_existing);
    {
      RawFile raw(dir / "cut.h5");
      ASSERT_GE(H5Ldelete(raw.id(), key.c_str(), H5P_DEFAULT), 0);
    }
    EXPECT_NE(error_of<FormatError>(dir / "cut.h5").find("'" + key + "'"), std::string::npos);
  }
  std::filesystem::copy_file(dir / "good.h5", dir / "noenv.h5");
  {
    RawFile raw(dir / "noenv.h5");
    ASSERT_GE(H5Adelete(raw.id(), "env"), 0);
  }
  EXPECT_NE(error_of<FormatError>(dir / "noenv.h5").find("attribute 'env'"), std::string::npos);
}

/// Replaces dataset name by a float32 dataset of the given shape and values.
void replace_dataset(const std::filesystem::path& path, const std::string& name,
                     const std::vector<hsize_t>& dims, const std::vector<float>& values) {
  RawFile raw(path);
  ASSERT_GE(H5Ldelete(raw.id(), name.c_str(), H5P_DEFAULT), 0);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t set = H5Dcreate2(raw.id(), name.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT,
                               H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(set, 0);
  ASSERT_GE(H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  H5Dclose(set);
  H5Sclose(space);
}

TEST(IlDemos, WrongShapesAreShapeErrors) {
  TempDir dir;
  const auto d = testing::make_dataset(2, 6, 4, 2, false);
  save_demos(dir / "good.h5", d);
  struct Case {
    std::string name;
    std::vector<hsize_t> dims;
  };
  for (const auto& c : std::vector<Case>{{"actions", {11, 2}},
                                         {"observations", {12 * 4}},
                                         {"next_observations", {12, 3}},
                                         {"rewards", {12, 2}},
                                         {"terminals", {13}}}) {
    SCOPED_TRACE(c.name);
    std::filesystem::copy_file(dir / "good.h5", dir / "bad.h5",
                               std::filesystem::copy_options::overwrite_existing);
    std::size_t count = 1;
    for (auto n : c.dims) count *= n;
    replace_dataset(dir / "bad.h5", c.name, c.dims, std::vector<float>(count, 0.5f));
    EXPECT_NE(error_of<ShapeError>(dir / "bad.h5").find(c.name), std::string::npos);
  }
}

TEST(IlDemos, NonFiniteValuesAreNumericErrors) {
  TempDir dir;
  const auto d = testing::make_dataset(2, 6, 4, 2, false);
  save_demos(dir / "good.h5", d);
  std::filesystem::copy_file(dir / "good.h5", dir / "nan.h5");
  auto values = d.observations.contiguous();
  std::vector<float> flat(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
  flat[2 * 4 + 1] = std::numeric_limits<float>::quiet_NaN();
  replace_dataset(dir / "nan.h5", "observations", {12, 4}, flat);
  const auto message = error_of<NumericError>(dir / "nan.h5");
  EXPECT_NE(message.find("observations"), std::string::npos) << message;
  EXPECT_NE(message.find("row 2, column 1"), std::string::npos) << message;
  std::filesystem::copy_file(dir / "good.h5", dir / "inf.h5");
  std::vector<float> rewards(12, 1.0f);
  rewards[5] = std::numeric_limits<float>::infinity();
  replace_dataset(dir / "inf.h5", "rewards", {12}, rewards);
  EXPECT_NE(error_of<NumericError>(dir / "inf.h5").find("rewards"), std::string::npos);
}

// Flags that are not booleans, and files of a layout version this build does not know, are
// refused with the dataset or attribute named; integer 0/1 flags (some D4RL exports) are read.
TEST(IlDemos, FloatFlagsAndUnknownFormatVersionsAreFormatErrors) {
  TempDir dir;
  const auto d = testing::make_dataset(2, 6, 4, 2, false);
  save_demos(dir / "good.h5", d);
  std::filesystem::copy_file(dir / "good.h5", dir / "float.h5");
  replace_dataset(dir / "float.h5", "terminals", {12}, std::vector<float>(12, 0.7f));
  EXPECT_NE(error_of<FormatError>(dir / "float.h5").find("terminals holds float values"),
            std::string::npos);
  std::filesystem::copy_file(dir / "good.h5", dir / "ints.h5");
  std::vector<std::uint8_t> flags(12, 0);
  {
    RawFile raw(dir / "ints.h5");
    ASSERT_GE(H5Ldelete(raw.id(), "timeouts", H5P_DEFAULT), 0);
    const hsize_t n = 12;
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t set = H5Dcreate2(raw.id(), "timeouts", H5T_STD_U8LE, space, H5P_DEFAULT,
                                 H5P_DEFAULT, H5P_DEFAULT);
    flags[5] = flags[11] = 1;
    ASSERT_GE(H5Dwrite(set, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, flags.data()), 0);
    H5Dclose(set);
    H5Sclose(space);
  }
  const auto ints = load_demos(dir / "ints.h5");
  EXPECT_EQ(ints.timeouts.scalar_type(), torch::kBool);
  EXPECT_EQ(ints.timeouts.sum().item<std::int64_t>(), 2);
  for (const double version : {99.0, 0.0, 1.5}) {
    SCOPED_TRACE(version);
    std::filesystem::copy_file(dir / "good.h5", dir / "version.h5",
                               std::filesystem::copy_options::overwrite_existing);
    {
      RawFile raw(dir / "version.h5");
      ASSERT_GE(H5Adelete(raw.id(), "format_version"), 0);
      const hid_t space = H5Screate(H5S_SCALAR);
      const hid_t attr =
          H5Acreate2(raw.id(), "format_version", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
      ASSERT_GE(H5Awrite(attr, H5T_NATIVE_DOUBLE, &version), 0);
      H5Aclose(attr);
      H5Sclose(space);
    }
    EXPECT_NE(error_of<FormatError>(dir / "version.h5").find("format_version is"),
              std::string::npos);
  }
}

TEST(IlDemos, FitToEnvironmentChecksWidths) {
  auto d = testing::make_dataset(1, 4, 11, 3, false);
  EXPECT_NO_THROW(check_demos_fit_env(d));
  d = testing::make_dataset(1, 4, 11, 2, false);
  EXPECT_THROW(check_demos_fit_env(d), ShapeError);
  d.meta.env = "Hopper-v99";
  EXPECT_THROW(check_demos_fit_env(d), UnknownNameError);
}

// A declared shape far beyond what the file stores (a flipped bit in a dimension) is refused
// before anything is allocated.
TEST(IlDemos, ShapeBeyondTheStoredBytesIsFormatError) {
  TempDir dir;
  save_demos(dir / "good.h5", testing::make_dataset(2, 6, 4, 2, false));
  {
    RawFile raw(dir / "good.h5");
    ASSERT_GE(H5Ldelete(raw.id(), "observations", H5P_DEFAULT), 0);
    const hsize_t dims[2] = {10000000000ull, 4}, chunk[2] = {1024, 4};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    const hid_t set =
        H5Dcreate2(raw.id(), "observations", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(set, 0);
    H5Dclose(set);
    H5Pclose(dcpl);
    H5Sclose(space);
  }
  const auto message = error_of<FormatError>(dir / "good.h5");
  EXPECT_NE(message.find("declares"), std::string::npos) << message;
  EXPECT_NE(message.find("'observations'"), std::string::npos) << message;
}

// A string attribute that is not UTF-8 (a bit flip in "expert") is a FormatError naming it, not
// an exception from the JSON summary later.
TEST(IlDemos, NonUtf8AttributeIsFormatError) {
  TempDir dir;
  save_demos(dir / "bad.h5", testing::make_dataset(1, 4, 3, 1, false));
  {
    RawFile raw(dir / "bad.h5");
    if (H5Aexists(raw.id(), "expert") > 0) ASSERT_GE(H5Adelete(raw.id(), "expert"), 0);
    const std::string text = "zoo-\xff\xfe";
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, text.size());
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attr = H5Acreate2(raw.id(), "expert", type, space, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(H5Awrite(attr, type, text.data()), 0);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
  }
  const auto message = error_of<FormatError>(dir / "bad.h5");
  EXPECT_NE(message.find("not valid UTF-8"), std::string::npos) << message;
}

// The hdf5 fuzzer's finding in Debian's libhdf5 1.10.8: a corrupt global heap makes H5HG_read copy
// megabytes past its buffer while a variable-length string attribute is read, which was a
// segmentation fault of the whole program. The read now runs in a child process.
TEST(IlDemos, CorruptGlobalHeapIsFormatErrorNotACrash) {
  const std::filesystem::path file =
      std::filesystem::path(CS_SOURCE_DIR) / "tests/fuzz/known/hdf5_h5hg_read_overflow.h5";
  const auto message = error_of<FormatError>(file);
  EXPECT_NE(message.find("crashed the HDF5 library"), std::string::npos) << message;
}

TEST(IlDemos, OtherEnvironmentIsConfigError) {
  TempDir dir;
  save_demos(dir / "hopper.h5", testing::make_dataset(1, 4, 3, 1, false));
  const auto message = error_of<ConfigError>(dir / "hopper.h5", "Walker2d-v4");
  EXPECT_NE(message.find("'Hopper-v4'"), std::string::npos) << message;
  EXPECT_NE(message.find("'Walker2d-v4'"), std::string::npos) << message;
  EXPECT_NO_THROW(load_demos(dir / "hopper.h5", "Hopper-v4"));
}

TEST(IlDemos, InvalidDatasetsAreNotSaved) {
  TempDir dir;
  auto d = testing::make_dataset(1, 4, 3, 1, false);
  d.terminals = d.terminals.to(torch::kFloat32);
  EXPECT_THROW(save_demos(dir / "x.h5", d), ShapeError);
  d = testing::make_dataset(1, 4, 3, 1, true);
  d.camera_poses = torch::Tensor();
  EXPECT_THROW(save_demos(dir / "x.h5", d), ShapeError);
  d = testing::make_dataset(2, 4, 3, 1, false);
  d.meta.episode_lengths = {4, 3};
  EXPECT_THROW(save_demos(dir / "x.h5", d), ShapeError);
  d = testing::make_dataset(1, 4, 3, 1, false);
  d.meta.env.clear();
  EXPECT_THROW(save_demos(dir / "x.h5", d), ConfigError);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.h5"));
}

TEST(IlDemos, SummaryCountsEpisodesAndReturns) {
  auto d = testing::make_dataset(3, 5, 2, 1, false);
  d.meta.episode_returns = {1.0, 2.0, 6.0};
  const auto s = demo_summary(d);
  EXPECT_EQ(s["transitions"], 15);
  EXPECT_EQ(s["episodes"], 3);
  EXPECT_EQ(s["expert_episodes"], 2);
  EXPECT_DOUBLE_EQ(s["return"]["mean"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(s["return"]["max"].get<double>(), 6.0);
  EXPECT_DOUBLE_EQ(s["expert_episode_return"]["mean"].get<double>(), 3.5);
  EXPECT_EQ(s["terminals"], 2);
  EXPECT_EQ(s["timeouts"], 1);
  EXPECT_EQ(s["observations"]["std"].size(), 2u);
  EXPECT_EQ(s["noise_spec"], "none");
}

/// Adds two extra camera views to d: "side" (random frames, frame 2 all grey) and an unnamed one.
void add_views(DemoDataset& d) {
  const auto t = d.size();
  DemoView side;
  side.name = "side";
  side.images = torch::randint(0, 256, d.images.sizes(), torch::kUInt8);
  side.images[2].fill_(128);
  side.camera_poses = torch::tensor({3.0f, 0.0f, -20.0f}).repeat({t, 1});
  DemoView top;
  top.images = 255 - d.images;
  top.camera_poses = torch::tensor({4.0f, 90.0f, -89.0f}).repeat({t, 1});
  d.views = {side, top};
}

TEST(IlDemos, ExtraViewsRoundTrip) {
  TempDir dir;
  auto d = testing::make_dataset(2, 6, 4, 2, /*images=*/true);
  add_views(d);
  save_demos(dir / "views.h5", d);
  const auto back = load_demos(dir / "views.h5");
  ASSERT_EQ(back.view_count(), 3);
  ASSERT_EQ(back.views.size(), 2u);
  for (std::int64_t k = 0; k < 3; ++k) {
    SCOPED_TRACE(k);
    EXPECT_TRUE(torch::equal(back.view_images(k), d.view_images(k)));
    EXPECT_TRUE(torch::equal(back.view_camera_poses(k), d.view_camera_poses(k)));
  }
  EXPECT_TRUE(torch::equal(back.view_images(0), back.images));
  EXPECT_EQ(back.view_name(0), "view0");
  EXPECT_EQ(back.view_name(1), "side");
  EXPECT_EQ(back.view_name(2), "view2");
  EXPECT_THROW(back.view_images(3), ConfigError);
  EXPECT_THROW(back.view_camera_poses(-1), ConfigError);
  EXPECT_EQ(testing::make_dataset(1, 3, 2, 1, false).view_count(), 0);

  const auto s = demo_summary(back);
  ASSERT_EQ(s["views"].size(), 3u);
  EXPECT_EQ(s["views"][1]["name"], "side");
  EXPECT_EQ(s["views"][1]["shape"].get<std::vector<std::int64_t>>(),
            (std::vector<std::int64_t>{12, 6, 8, 3}));
  EXPECT_EQ(s["views"][1]["constant_frames"], 1);
  EXPECT_EQ(s["views"][0]["constant_frames"], 0);
  EXPECT_EQ(s["views"][2]["camera_poses"]["last"].get<std::vector<double>>(),
            (std::vector<double>{4.0, 90.0, -89.0}));
  EXPECT_EQ(s["views"][0]["camera_poses"]["last"].get<std::vector<double>>(),
            (std::vector<double>{3.0, 11.0, -45.0}));
  EXPECT_NEAR(s["views"][0]["pixel_mean"].get<double>() + s["views"][2]["pixel_mean"].get<double>(),
              255.0, 1e-9);
  EXPECT_EQ(s["images"]["shape"], s["views"][0]["shape"]);

  // Noise keeps the views; a dataset without extra views has none in its file.
  auto noisy = back;
  apply_observation_noise(noisy, NoiseSpec::parse("gauss:0.1"), 3);
  save_demos(dir / "noisy.h5", noisy);
  EXPECT_TRUE(torch::equal(load_demos(dir / "noisy.h5").view_images(2), d.view_images(2)));
  save_demos(dir / "one.h5", testing::make_dataset(2, 6, 4, 2, true));
  EXPECT_EQ(load_demos(dir / "one.h5").view_count(), 1);
}

TEST(IlDemos, InvalidViewsAreNotSaved) {
  TempDir dir;
  auto d = testing::make_dataset(2, 6, 4, 2, true);
  add_views(d);
  d.views[1].images = torch::zeros({12, 7, 8, 3}, torch::kUInt8);
  EXPECT_THROW(save_demos(dir / "x.h5", d), ShapeError);
  add_views(d);
  d.views[0].camera_poses = d.views[0].camera_poses.slice(0, 0, 11);
  EXPECT_THROW(save_demos(dir / "x.h5", d), ShapeError);
  add_views(d);
  d.views[0].camera_poses[4][2] = std::numeric_limits<float>::infinity();
  try {
    save_demos(dir / "x.h5", d);
    ADD_FAILURE() << "no error";
  } catch (const NumericError& e) {
    EXPECT_NE(std::string(e.what()).find("views/1/camera_poses"), std::string::npos) << e.what();
  }
  auto state_only = testing::make_dataset(2, 6, 4, 2, false);
  state_only.views = d.views;
  EXPECT_THROW(save_demos(dir / "x.h5", state_only), ShapeError);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.h5"));
}

/// Overwrites the stored (compressed) bytes of chunk index of dataset name with garbage.
void corrupt_chunk(const std::filesystem::path& path, const std::string& name, hsize_t index) {
  haddr_t address = HADDR_UNDEF;
  hsize_t size = 0;
  {
    RawFile raw(path);
    const hid_t set = H5Dopen2(raw.id(), name.c_str(), H5P_DEFAULT);
    ASSERT_GE(set, 0);
    const hid_t space = H5Dget_space(set);
    hsize_t offset[4];
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info(set, space, index, offset, &mask, &address, &size), 0);
    H5Sclose(space);
    H5Dclose(set);
  }
  std::string bytes = read_file(path);
  ASSERT_LE(address + size, bytes.size());
  for (hsize_t i = 0; i < size; ++i) bytes[address + i] = static_cast<char>(0x5A ^ i);
  clearsight::testing::write_bytes(path, bytes);
}

TEST(IlDemos, MissingOrCorruptViewIsFormatError) {
  TempDir dir;
  auto d = testing::make_dataset(2, 6, 4, 2, true);
  add_views(d);
  save_demos(dir / "good.h5", d);
  const auto fresh = [&](const char* name) {
    std::filesystem::copy_file(dir / "good.h5", dir / name,
                               std::filesystem::copy_options::overwrite_existing);
    return dir / name;
  };
  for (const std::string key : {"views/1/images", "views/2/camera_poses", "views/2"}) {
    SCOPED_TRACE(key);
    const auto path = fresh("cut.h5");
    {
      RawFile raw(path);
      ASSERT_GE(H5Ldelete(raw.id(), key.c_str(), H5P_DEFAULT), 0);
    }
    const auto message = error_of<FormatError>(path);
    EXPECT_NE(message.find("'" + key + "'"), std::string::npos) << message;
  }
  {
    const auto path = fresh("nocount.h5");
    {
      RawFile raw(path);
      ASSERT_GE(H5Adelete_by_name(raw.id(), "views", "count", H5P_DEFAULT), 0);
    }
    EXPECT_NE(error_of<FormatError>(path).find("'count' of 'views'"), std::string::npos);
  }
  {
    const auto path = fresh("noimages.h5");
    {
      RawFile raw(path);
      ASSERT_GE(H5Ldelete(raw.id(), "images", H5P_DEFAULT), 0);
      ASSERT_GE(H5Ldelete(raw.id(), "camera_poses", H5P_DEFAULT), 0);
    }
    EXPECT_NE(error_of<FormatError>(path).find("group 'views'"), std::string::npos);
  }
  {
    // A damaged chunk of a view's frames (gzip cannot inflate it).
    const auto path = fresh("damaged.h5");
    corrupt_chunk(path, "views/2/images", 3);
    const auto message = error_of<FormatError>(path);
    EXPECT_NE(message.find("views/2/images"), std::string::npos) << message;
  }
  // Truncated anywhere: still a FormatError.
  const std::string bytes = read_file(dir / "good.h5");
  for (std::size_t cut : {bytes.size() / 2, bytes.size() * 3 / 4, bytes.size() - 1}) {
    SCOPED_TRACE(cut);
    clearsight::testing::write_bytes(dir / "short.h5", bytes.substr(0, cut));
    error_of<FormatError>(dir / "short.h5");
  }
}

/// Replaces dataset name by a uint8 dataset of the given shape (zeros).
void replace_frames(const std::filesystem::path& path, const std::string& name,
                    const std::vector<hsize_t>& dims) {
  RawFile raw(path);
  ASSERT_GE(H5Ldelete(raw.id(), name.c_str(), H5P_DEFAULT), 0);
  std::size_t count = 1;
  for (auto n : dims) count *= n;
  const std::vector<std::uint8_t> values(count, 0);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t set = H5Dcreate2(raw.id(), name.c_str(), H5T_STD_U8LE, space, H5P_DEFAULT,
                               H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(set, 0);
  ASSERT_GE(H5Dwrite(set, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  H5Dclose(set);
  H5Sclose(space);
}

TEST(IlDemos, WrongViewShapesAreShapeErrors) {
  TempDir dir;
  auto d = testing::make_dataset(2, 6, 4, 2, true);
  add_views(d);
  save_demos(dir / "good.h5", d);
  struct Case {
    std::string name;
    std::vector<hsize_t> dims;
    std::string says;
  };
  for (const auto& c :
       std::vector<Case>{{"views/1/images", {12, 7, 8, 3}, "frame size of view 0"},
                         {"views/2/images", {11, 6, 8, 3}, "expected [12, H, W, 3]"},
                         {"views/2/images", {12, 6, 8, 4}, "expected [12, H, W, 3]"},
                         {"views/1/images", {12, 6, 8}, "expected [12, H, W, 3]"}}) {
    SCOPED_TRACE(c.name + " " + c.says);
    std::filesystem::copy_file(dir / "good.h5", dir / "bad.h5",
                               std::filesystem::copy_options::overwrite_existing);
    replace_frames(dir / "bad.h5", c.name, c.dims);
    const auto message = error_of<ShapeError>(dir / "bad.h5");
    EXPECT_NE(message.find(c.name), std::string::npos) << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << message;
  }
  std::filesystem::copy_file(dir / "good.h5", dir / "poses.h5",
                             std::filesystem::copy_options::overwrite_existing);
  replace_dataset(dir / "poses.h5", "views/1/camera_poses", {12, 2}, std::vector<float>(24, 1.0f));
  EXPECT_NE(error_of<ShapeError>(dir / "poses.h5").find("views/1/camera_poses"), std::string::npos);
  std::vector<float> poses(36, 3.0f);
  poses[7] = std::numeric_limits<float>::quiet_NaN();
  replace_dataset(dir / "poses.h5", "views/1/camera_poses", {12, 3}, poses);
  const auto message = error_of<NumericError>(dir / "poses.h5");
  EXPECT_NE(message.find("views/1/camera_poses"), std::string::npos) << message;
  EXPECT_NE(message.find("row 2, column 1"), std::string::npos) << message;
}

TEST(IlDemos, ReadableByH5py) {
  // scripts/setup installs python3-h5py: its absence is a broken set-up, not a reason to skip.
  ASSERT_EQ(std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1"), 0)
      << "python3-h5py is not installed (scripts/setup installs it)";
  TempDir dir;
  auto d = testing::make_dataset(2, 6, 4, 2, true);
  add_views(d);
  save_demos(dir / "d.h5", d);
  const std::string script =
      "import h5py, json, sys\n"
      "f = h5py.File(sys.argv[1], 'r')\n"
      "assert f['observations'].shape == (12, 4) and f['observations'].dtype == 'float32'\n"
      "assert f['next_observations'].shape == (12, 4)\n"
      "assert f['actions'].shape == (12, 2) and f['rewards'].shape == (12,)\n"
      "assert f['terminals'].dtype == bool and f['timeouts'].dtype == bool\n"
      "assert f['terminals'][:].sum() == 1 and f['timeouts'][:].sum() == 1\n"
      "assert f['images'].shape == (12, 6, 8, 3) and f['images'].dtype == 'uint8'\n"
      "assert f['images'].chunks == (1, 6, 8, 3) and f['images'].compression == 'gzip'\n"
      "assert f['camera_poses'].shape == (12, 3)\n"
      "assert f['views'].attrs['count'] == 2 and f['views/1'].attrs['name'] == 'side'\n"
      "assert f['views/2/images'].shape == (12, 6, 8, 3) and f['views/2/images'].dtype == 'uint8'\n"
      "assert f['views/2/images'].chunks == (1, 6, 8, 3)\n"
      "assert f['views/2/images'].compression == 'gzip'\n"
      "assert f['views/1/camera_poses'].shape == (12, 3)\n"
      "assert f.attrs['env'] == 'Hopper-v4', f.attrs['env']\n"
      "assert json.loads(f.attrs['noise'])['spec'] == 'none'\n"
      "assert f.attrs['seed'] == 7 and f.attrs['expert_return'] == 123.5\n"
      "assert list(f['episodes/lengths'][:]) == [6, 6]\n"
      "assert list(f['episodes/expert'][:]) == [True, False]\n"
      "print('ok')\n";
  atomic_write(dir / "check.py", script);
  const std::string command = "/usr/bin/python3 " + (dir / "check.py").string() + " " +
                              (dir / "d.h5").string() + " > " + (dir / "out.txt").string() +
                              " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << read_file(dir / "out.txt");
}

}  // namespace
}  // namespace clearsight::il
