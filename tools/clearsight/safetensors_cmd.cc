// `clearsight safetensors inspect FILE`: names, dtypes, shapes, sizes and metadata.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "clearsight/core/log.h"
#include "clearsight/core/safetensors_format.h"
#include "clearsight/core/strings.h"
#include "commands.h"

namespace clearsight::cli {

void add_safetensors_command(Context& context) {
  auto* group = context.app.add_subcommand("safetensors", "Work with safetensors files");
  group->require_subcommand(1);
  auto* inspect = group->add_subcommand("inspect", "List a file's tensors and metadata");
  auto path = std::make_shared<std::string>();
  auto json_flag = std::make_shared<bool>(false);
  inspect->add_option("FILE", *path, "safetensors file")->required();
  inspect->add_flag("--json", *json_flag, "Print one JSON document");
  inspect->callback([&context, path, json_flag] {
    context.action = [&context, path, json_flag] {
      log::set_verbosity(context.global.quiet ? -1 : context.global.verbosity);
      const safetensors::MappedFile file(*path);
      const auto header = safetensors::parse(file.bytes(), *path);
      std::uint64_t total = 0;
      for (const auto& t : header.tensors) total += t.nbytes();
      if (*json_flag) {
        nlohmann::json tensors = nlohmann::json::array();
        for (const auto& t : header.tensors) {
          tensors.push_back({{"name", t.name},
                             {"dtype", std::string(safetensors::dtype_name(t.dtype))},
                             {"shape", t.shape},
                             {"bytes", t.nbytes()},
                             {"data_offsets", {t.begin, t.end}}});
        }
        nlohmann::json out = {{"file", *path},
                              {"file_bytes", file.bytes().size()},
                              {"header_bytes", header.data_start},
                              {"tensor_bytes", total},
                              {"tensors", tensors},
                              {"metadata", header.metadata}};
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
      }
      std::printf("%s: %zu tensors, %s of data, header %s\n", path->c_str(), header.tensors.size(),
                  human_bytes(static_cast<double>(total)).c_str(),
                  human_bytes(static_cast<double>(header.data_start)).c_str());
      std::size_t width = 4;
      for (const auto& t : header.tensors) width = std::max(width, t.name.size());
      std::printf("  %-*s  %-5s  %-20s  %s\n", static_cast<int>(width), "name", "dtype", "shape",
                  "bytes");
      for (const auto& t : header.tensors) {
        std::string shape = "[";
        for (std::size_t i = 0; i < t.shape.size(); ++i) {
          shape += (i ? ", " : "") + std::to_string(t.shape[i]);
        }
        shape += "]";
        std::printf("  %-*s  %-5s  %-20s  %s\n", static_cast<int>(width), t.name.c_str(),
                    std::string(safetensors::dtype_name(t.dtype)).c_str(), shape.c_str(),
                    human_bytes(static_cast<double>(t.nbytes())).c_str());
      }
      if (!header.metadata.empty()) {
        std::printf("metadata:\n");
        for (const auto& [key, value] : header.metadata) {
          std::printf("  %s: %s\n", key.c_str(), value.c_str());
        }
      }
      return 0;
    };
  });
}

}  // namespace clearsight::cli
