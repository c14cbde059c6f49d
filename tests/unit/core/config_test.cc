#include "clearsight/core/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace clearsight {
namespace {

struct Inner {
  int width = 64;
  std::string act = "relu";
  template <typename V>
  void visit(V& v) {
    v("width", width, "hidden width");
    v("act", act, "activation");
  }
};

struct Outer {
  int steps = 100;
  double lr = 3e-4;
  bool verbose = false;
  unsigned seed = 1;
  std::vector<int> layers{1, 2};
  Inner net;
  template <typename V>
  void visit(V& v) {
    v("steps", steps, "number of steps");
    v("lr", lr, "learning rate");
    v("verbose", verbose);
    v("seed", seed);
    v("layers", layers);
    v("net", net, "network");
  }
  void validate() const { CS_CHECK_AS(ConfigError, steps > 0, "steps must be positive"); }
};

struct Names {
  std::vector<std::string> names;
  template <typename V>
  void visit(V& v) {
    v("names", names);
  }
};

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no ConfigError>";
}

TEST(CoreConfig, DefaultsWhenEmptyOrNull) {
  const auto a = config::from_json<Outer>(config::Json::object());
  EXPECT_EQ(a.steps, 100);
  EXPECT_EQ(a.net.act, "relu");
  const auto b = config::from_json<Outer>(config::Json());
  EXPECT_DOUBLE_EQ(b.lr, 3e-4);
}

TEST(CoreConfig, OverlaysGivenKeysIncludingNested) {
  const auto c = config::from_json<Outer>(
      config::Json::parse(R"({"steps": 5, "lr": 1, "net": {"width": 8}, "layers": [3]})"));
  EXPECT_EQ(c.steps, 5);
  EXPECT_DOUBLE_EQ(c.lr, 1.0);  // An integer is accepted for a double.
  EXPECT_EQ(c.net.width, 8);
  EXPECT_EQ(c.net.act, "relu");
  EXPECT_EQ(c.layers, std::vector<int>{3});
}

TEST(CoreConfig, UnknownKeyListsValidKeysAndSuggests) {
  const auto msg =
      message_of([] { config::from_json<Outer>(config::Json::parse(R"({"stepz": 5})"), "train"); });
  EXPECT_NE(msg.find("unknown config key 'train.stepz'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'steps'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("steps, lr, verbose, seed, layers, net"), std::string::npos) << msg;
  const auto nested =
      message_of([] { config::from_json<Outer>(config::Json::parse(R"({"net": {"widht": 5}})")); });
  EXPECT_NE(nested.find("'net.widht'"), std::string::npos) << nested;
  EXPECT_NE(nested.find("width, act"), std::string::npos) << nested;
}

TEST(CoreConfig, TypeErrorsNameThePath) {
  auto msg = message_of([] { config::from_json<Outer>(config::Json::parse(R"({"steps": "x"})")); });
  EXPECT_NE(msg.find("config 'steps': expected an integer, got string"), std::string::npos) << msg;
  msg = message_of([] { config::from_json<Outer>(config::Json::parse(R"({"steps": 1.5})")); });
  EXPECT_NE(msg.find("expected an integer"), std::string::npos) << msg;
  msg = message_of([] { config::from_json<Outer>(config::Json::parse(R"({"verbose": 1})")); });
  EXPECT_NE(msg.find("expected true or false"), std::string::npos) << msg;
  msg = message_of([] { config::from_json<Outer>(config::Json::parse(R"({"seed": -1})")); });
  EXPECT_NE(msg.find("non-negative"), std::string::npos) << msg;
  msg = message_of([] { config::from_json<Outer>(config::Json::parse(R"({"net": 3})")); });
  EXPECT_NE(msg.find("config 'net': expected an object"), std::string::npos) << msg;
  msg = message_of([] { config::from_json<Outer>(config::Json::parse(R"([1])")); });
  EXPECT_NE(msg.find("expected an object"), std::string::npos) << msg;
}

TEST(CoreConfig, ValidateRuns) {
  EXPECT_THROW(config::from_json<Outer>(config::Json::parse(R"({"steps": 0})")), ConfigError);
}

TEST(CoreConfig, ResolvedDumpRoundTrips) {
  Outer o;
  o.steps = 7;
  o.net.width = 3;
  const auto json = config::to_json(o);
  EXPECT_EQ(json["steps"], 7);
  EXPECT_EQ(json["net"]["width"], 3);
  EXPECT_EQ(json["net"]["act"], "relu");
  const auto back = config::from_json<Outer>(json);
  EXPECT_EQ(back.steps, 7);
  EXPECT_EQ(back.net.width, 3);
}

TEST(CoreConfig, DescribeListsEveryLeafWithDefaults) {
  const auto docs = config::describe<Outer>();
  ASSERT_EQ(docs.size(), 7u);
  EXPECT_EQ(docs[0].key, "steps");
  EXPECT_EQ(docs[0].default_value, "100");
  EXPECT_EQ(docs[0].doc, "number of steps");
  EXPECT_EQ(docs[5].key, "net.width");
}

TEST(CoreConfig, Overrides) {
  config::Json j = config::Json::object();
  config::apply_override(j, "steps=12");
  config::apply_override(j, "net.act=tanh");
  config::apply_override(j, "lr=1e-3");
  config::apply_override(j, "layers=[4,5]");
  const auto o = config::from_json<Outer>(j);
  EXPECT_EQ(o.steps, 12);
  EXPECT_EQ(o.net.act, "tanh");
  EXPECT_DOUBLE_EQ(o.lr, 1e-3);
  EXPECT_EQ(o.layers, (std::vector<int>{4, 5}));
  EXPECT_THROW(config::apply_override(j, "novalue"), ConfigError);
  config::Json list = config::Json::object();
  config::apply_override(list, "names=a,b");  // As typed in a shell: not JSON, so a string.
  EXPECT_EQ(config::from_json<Names>(list).names, (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(config::apply_override(j, "=3"), ConfigError);
  EXPECT_THROW(config::apply_override(j, "a..b=3"), ConfigError);
}

TEST(CoreConfig, LoadFileErrors) {
  testing::TempDir temp;  // A folder of its own: parallel runs do not collide.
  const auto dir = temp.path();
  EXPECT_THROW(config::load_file(dir / "missing.json"), IoError);
  std::ofstream(dir / "bad.json") << "{\"a\": 1,,}";
  const auto msg = message_of([&] { config::load_file(dir / "bad.json"); });
  EXPECT_NE(msg.find("is not valid JSON at byte"), std::string::npos) << msg;
  std::ofstream(dir / "good.json") << "{\"steps\": 9}";
  EXPECT_EQ(config::from_json<Outer>(config::load_file(dir / "good.json")).steps, 9);
  std::ofstream(dir / "huge_number.json") << "{\"steps\": 1e999}";
  EXPECT_THROW(config::load_file(dir / "huge_number.json"), ConfigError);
}

// A FIFO or a device would block or never end: refused before a byte is read, as are files too
// large to be a config (a sparse file, so the test writes nothing).
TEST(CoreConfig, LoadFileRefusesNonRegularAndHugeFiles) {
  testing::TempDir temp;
  ASSERT_EQ(mkfifo((temp / "fifo").c_str(), 0600), 0);
  std::string msg;
  try {
    config::load_file(temp / "fifo");
  } catch (const IoError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
  EXPECT_THROW(config::load_file("/dev/zero"), IoError);
  std::ofstream(temp / "big.json").close();
  std::filesystem::resize_file(temp / "big.json", 65ull << 20);
  msg.clear();
  try {
    config::load_file(temp / "big.json");
  } catch (const FormatError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("a config is at most"), std::string::npos) << msg;
}

TEST(CoreConfig, OverridesRefuseOutOfRangeAndInvalidUtf8) {
  config::Json j = config::Json::object();
  EXPECT_THROW(config::apply_override(j, "lr=1e999"), ConfigError);
  EXPECT_THROW(config::apply_override(j, "env=Hop\xffper"), ConfigError);
  EXPECT_THROW(config::apply_override(j, "en\xc0\x80v=x"), ConfigError);     // Overlong NUL.
  EXPECT_THROW(config::apply_override(j, "env=\xed\xa0\x80"), ConfigError);  // A surrogate.
  config::apply_override(j, "env=H\xc3\xb6pper");  // Well-formed UTF-8 passes.
  EXPECT_EQ(j["env"], "H\xc3\xb6pper");
}

}  // namespace
}  // namespace clearsight
