// UTF-8 well-formedness, for text that ends up in JSON (configs, overrides, file attributes).
#pragma once

#include <cstddef>
#include <string_view>

namespace clearsight {

/// Byte offset of the first ill-formed UTF-8 sequence in text (Unicode's Table 3-7: no overlong
/// forms, no surrogates, nothing above U+10FFFF), or std::string_view::npos when it is well-formed.
std::size_t invalid_utf8_at(std::string_view text);

}  // namespace clearsight
