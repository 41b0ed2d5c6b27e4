// sample_game host — the windowed platform: SDL2 window and input, OpenGL 3 through Mesa
// (llvmpipe without a GPU), Dear ImGui for UI and, through its background draw list, the world.
//
// Why OpenGL and not SDL_Renderer: Debian's libimgui 1.86 ships the SDL_Renderer backend's
// header but not its code in libimgui.a (nm shows ImGui_ImplSDL2_* and ImGui_ImplOpenGL3_*
// only). Mesa's llvmpipe runs the OpenGL 3 backend on the CPU, under Xvfb too; see
// docs/SAMPLE_GAME.md for the measurements.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "host/platform.hpp"

namespace host {

struct WindowOptions {
    std::string title = "netcore sample";
    int width = 960;
    int height = 640;
    /// Save the window's pixels (BMP) once this many seconds after the first frame.
    struct Screenshot {
        double after_seconds = 0.0;
        std::string path;
    };
    std::vector<Screenshot> screenshots;
    double max_fps = 60.0;  ///< frames are capped here even where vsync is absent (Xvfb)
};

class SdlPlatform final : public Platform {
  public:
    /// Opens the window. On failure, error() says why and the platform must not be used.
    explicit SdlPlatform(WindowOptions options);
    ~SdlPlatform() override;
    SdlPlatform(const SdlPlatform&) = delete;
    SdlPlatform& operator=(const SdlPlatform&) = delete;

    [[nodiscard]] const std::string& error() const { return error_; }
    /// GL_RENDERER, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    [[nodiscard]] const std::string& renderer_name() const { return renderer_; }

    bool pump(Input& input) override;
    [[nodiscard]] bool has_ui() const override { return true; }
    void begin_frame() override;
    Canvas& canvas() override;
    void end_frame(Clock::time_point now) override;

  private:
    bool save_screenshot(const std::string& path) const;

    struct Impl;
    std::unique_ptr<Impl> impl_;
    WindowOptions options_;
    std::string error_;
    std::string renderer_;
};

}  // namespace host
