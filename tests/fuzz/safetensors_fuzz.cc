// libFuzzer target: the safetensors parser must turn any byte string into either a valid Header
// whose ranges all lie inside the input, or a clearsight::FormatError; nothing else.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors_format.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace st = clearsight::safetensors;
  try {
    const st::Header header = st::parse(std::span<const std::uint8_t>(data, size), "fuzz");
    std::uint64_t sum = 0;
    for (const auto& t : header.tensors) {
      // Every accepted range is inside the buffer: touch its first and last byte.
      if (t.end > header.data_size || header.data_start + header.data_size != size) std::abort();
      if (t.nbytes() > 0) {
        sum += data[header.data_start + t.begin] + data[header.data_start + t.end - 1];
      }
      if (t.numel() * st::dtype_size(t.dtype) != t.nbytes()) std::abort();
    }
    (void)sum;
  } catch (const clearsight::FormatError&) {
    // Expected for malformed input.
  }
  return 0;
}
