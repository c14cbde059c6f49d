#include "clearsight/core/registry.h"

#include <gtest/gtest.h>

namespace clearsight {
namespace {

struct Shape {
  virtual ~Shape() = default;
  virtual double area() const = 0;
};
struct Square : Shape {
  explicit Square(double s) : side(s) {}
  double area() const override { return side * side; }
  double side;
};
struct Circle : Shape {
  explicit Circle(double r) : radius(r) {}
  double area() const override { return 3.0 * radius * radius; }
  double radius;
};

Registry<Shape, double> make_registry() {
  Registry<Shape, double> registry("shape");
  registry.add(
      "square", [](double s) { return std::make_unique<Square>(s); }, "a square");
  registry.add(
      "circle", [](double r) { return std::make_unique<Circle>(r); }, "a circle");
  return registry;
}

TEST(CoreRegistry, CreatesByNameAndListsSorted) {
  const auto registry = make_registry();
  EXPECT_DOUBLE_EQ(registry.create("square", 3.0)->area(), 9.0);
  EXPECT_DOUBLE_EQ(registry.create("circle", 1.0)->area(), 3.0);
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"circle", "square"}));
  EXPECT_TRUE(registry.contains("circle"));
  EXPECT_FALSE(registry.contains("triangle"));
  EXPECT_EQ(registry.description("square"), "a square");
}

TEST(CoreRegistry, UnknownNameSuggestsNearest) {
  const auto registry = make_registry();
  try {
    registry.create("sqare", 1.0);
    FAIL() << "no throw";
  } catch (const UnknownNameError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("unknown shape 'sqare'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("did you mean 'square'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("known: circle, square"), std::string::npos) << msg;
  }
}

TEST(CoreRegistry, RejectsDuplicatesAndEmptyNames) {
  auto registry = make_registry();
  EXPECT_THROW(registry.add("square", [](double) { return std::make_unique<Square>(1); }),
               ConfigError);
  EXPECT_THROW(registry.add("", [](double) { return std::make_unique<Square>(1); }), ConfigError);
}

}  // namespace
}  // namespace clearsight
