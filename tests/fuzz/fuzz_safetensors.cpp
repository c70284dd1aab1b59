// The safetensors header and tensor table, and a sharded index (model.safetensors.index.json) in a
// model directory: any bytes give tensors or an emot5::Error, never a crash.
#include <filesystem>

#include "fuzz_util.h"
#include "io/checkpoint.h"
#include "io/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace emot5;
  const bool as_index = size > 0 && data[0] == '{';
  try {
    if (!as_index) {
      const SafetensorsFile f(fuzz::write_temp(data, size, ".safetensors"));
      for (const auto& n : f.names()) (void)f.find(n);
      return 0;
    }
    static const std::string dir = fuzz::temp_path("-model");
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(std::string(EMOT5_TEST_DATA) + "/tiny-v11-untied-f32/config.json", dir + "/config.json",
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(dir + "/model.safetensors.index.json", std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    (void)open_checkpoint(dir);
  } catch (const Error&) {
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
