// stb_image and stb_image_resize compiled into the image fuzzer (instead of Debian's libstb.so), so
// that the decoders under read_image() carry the sanitizers and libFuzzer's coverage feedback.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
