// Checks two screenshots of the sample game by their pixels: a colour (the remote square's)
// appears in both, and its centre moved between them.
// Usage: sample_screenshot_check RRGGBB first.bmp second.bmp
// Exit 0 when both hold at least kMinPixels of the colour and the centres are kMinMove apart.
#include <SDL.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

constexpr long kMinPixels = 300;  // a 40-unit square is ~1500 px in a 960x640 window
constexpr double kMinMove = 3.0;  // px between the two shots
constexpr int kTolerance = 2;     // per channel: exact colours, but allow for rounding

struct Found {
    bool loaded = false;
    long count = 0;
    double x = 0.0;
    double y = 0.0;
};

Found find_colour(const char* path, int r, int g, int b) {
    Found found;
    SDL_Surface* loaded = SDL_LoadBMP(path);
    if (loaded == nullptr) {
        std::fprintf(stderr, "%s: %s\n", path, SDL_GetError());
        return found;
    }
    SDL_Surface* rgb = SDL_ConvertSurfaceFormat(loaded, SDL_PIXELFORMAT_RGB24, 0);
    SDL_FreeSurface(loaded);
    if (rgb == nullptr) return found;
    found.loaded = true;
    const auto* pixels = static_cast<const unsigned char*>(rgb->pixels);
    for (int y = 0; y < rgb->h; ++y) {
        const unsigned char* row = pixels + static_cast<std::ptrdiff_t>(y) * rgb->pitch;
        for (int x = 0; x < rgb->w; ++x) {
            const unsigned char* p = row + 3 * x;
            if (std::abs(p[0] - r) <= kTolerance && std::abs(p[1] - g) <= kTolerance &&
                std::abs(p[2] - b) <= kTolerance) {
                ++found.count;
                found.x += x;
                found.y += y;
            }
        }
    }
    if (found.count > 0) {
        found.x /= static_cast<double>(found.count);
        found.y /= static_cast<double>(found.count);
    }
    std::printf("%s: %ld pixels of the colour, centre (%.1f, %.1f), image %dx%d\n", path,
                found.count, found.x, found.y, rgb->w, rgb->h);
    SDL_FreeSurface(rgb);
    return found;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 || std::string(argv[1]).size() != 6) {
        std::fprintf(stderr, "usage: %s RRGGBB first.bmp second.bmp\n", argv[0]);
        return 2;
    }
    const unsigned long rgb = std::strtoul(argv[1], nullptr, 16);
    const int r = static_cast<int>((rgb >> 16) & 0xff);
    const int g = static_cast<int>((rgb >> 8) & 0xff);
    const int b = static_cast<int>(rgb & 0xff);
    const Found first = find_colour(argv[2], r, g, b);
    const Found second = find_colour(argv[3], r, g, b);
    if (!first.loaded || !second.loaded) return 1;
    if (first.count < kMinPixels || second.count < kMinPixels) {
        std::printf("FAIL: the square's colour %s is missing (want %ld pixels)\n", argv[1],
                    kMinPixels);
        return 1;
    }
    const double moved = std::hypot(second.x - first.x, second.y - first.y);
    std::printf("moved %.1f px\n", moved);
    if (moved < kMinMove) {
        std::printf("FAIL: the square did not move between the shots\n");
        return 1;
    }
    return 0;
}
