// Shared GoogleTest entry point: initialises the runtime once (threads, malloc, seed) for tests.
#include <gtest/gtest.h>

#include "clearsight/core/log.h"
#include "clearsight/core/runtime.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  clearsight::log::set_verbosity(-1);
  clearsight::init_runtime();
  return RUN_ALL_TESTS();
}
