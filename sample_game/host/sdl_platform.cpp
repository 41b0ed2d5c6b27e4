#include "host/sdl_platform.hpp"

#include <SDL.h>
#include <SDL_opengl.h>
#include <imgui.h>
#include <imgui_impl_opengl3.h>
#include <imgui_impl_sdl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

namespace host {
namespace {

ImU32 to_imgui(Color c) {
    return IM_COL32(c.r, c.g, c.b, c.a);
}

/// The world drawn on Dear ImGui's background draw list: under every window, in one renderer.
class ImGuiCanvas final : public Canvas {
  public:
    [[nodiscard]] Vec2 size() const override {
        const ImVec2 s = ImGui::GetIO().DisplaySize;
        return {s.x, s.y};
    }
    void fill_rect(const Rect& r, Color c) override {
        ImGui::GetBackgroundDrawList()->AddRectFilled({r.min.x, r.min.y}, {r.max.x, r.max.y},
                                                      to_imgui(c));
    }
    void outline_rect(const Rect& r, Color c, float thickness) override {
        ImGui::GetBackgroundDrawList()->AddRect({r.min.x, r.min.y}, {r.max.x, r.max.y}, to_imgui(c),
                                                0.0f, 0, thickness);
    }
    void text(Vec2 at, Color c, std::string_view t) override {
        ImGui::GetBackgroundDrawList()->AddText({at.x, at.y}, to_imgui(c), t.data(),
                                                t.data() + t.size());
    }
};

constexpr float kClearColor[3] = {0.08f, 0.09f, 0.11f};

}  // namespace

struct SdlPlatform::Impl {
    SDL_Window* window = nullptr;
    SDL_GLContext gl = nullptr;
    bool imgui_sdl = false;
    bool imgui_gl = false;
    ImGuiCanvas canvas;
    Clock::time_point first_frame{};
    Clock::time_point next_frame{};
    std::size_t next_screenshot = 0;
};

SdlPlatform::SdlPlatform(WindowOptions options)
    : impl_(std::make_unique<Impl>()), options_(std::move(options)) {
    std::sort(options_.screenshots.begin(), options_.screenshots.end(),
              [](const auto& a, const auto& b) { return a.after_seconds < b.after_seconds; });
    if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) != 0) {
        error_ = std::string("SDL_Init: ") + SDL_GetError();
        return;
    }
    // OpenGL 3.0 with GLSL 130: the lowest the ImGui OpenGL3 backend supports, and what Mesa's
    // llvmpipe gives any X server, Xvfb included.
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
    SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
    SDL_GL_SetAttribute(SDL_GL_DEPTH_SIZE, 0);
    impl_->window = SDL_CreateWindow(
        options_.title.c_str(), SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, options_.width,
        options_.height, SDL_WINDOW_OPENGL | SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI);
    if (impl_->window == nullptr) {
        error_ = std::string("SDL_CreateWindow: ") + SDL_GetError();
        return;
    }
    impl_->gl = SDL_GL_CreateContext(impl_->window);
    if (impl_->gl == nullptr) {
        error_ = std::string("SDL_GL_CreateContext: ") + SDL_GetError();
        return;
    }
    SDL_GL_MakeCurrent(impl_->window, impl_->gl);
    SDL_GL_SetSwapInterval(1);  // vsync where there is one; max_fps caps the rest
    if (const auto* r = reinterpret_cast<const char*>(glGetString(GL_RENDERER))) renderer_ = r;

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // no imgui.ini next to the binary
    // No keyboard navigation: arrow keys belong to the game. Tab still moves between fields.
    ImGui::StyleColorsDark();
    ImGui::GetStyle().WindowRounding = 4.0f;
    impl_->imgui_sdl = ImGui_ImplSDL2_InitForOpenGL(impl_->window, impl_->gl);
    impl_->imgui_gl = ImGui_ImplOpenGL3_Init("#version 130");
    if (!impl_->imgui_sdl || !impl_->imgui_gl) error_ = "Dear ImGui backends failed to start";
}

SdlPlatform::~SdlPlatform() {
    if (impl_->imgui_gl) ImGui_ImplOpenGL3_Shutdown();
    if (impl_->imgui_sdl) ImGui_ImplSDL2_Shutdown();
    if (ImGui::GetCurrentContext() != nullptr) ImGui::DestroyContext();
    if (impl_->gl != nullptr) SDL_GL_DeleteContext(impl_->gl);
    if (impl_->window != nullptr) SDL_DestroyWindow(impl_->window);
    SDL_Quit();
}

bool SdlPlatform::pump(Input& input) {
    SDL_Event event;
    bool keep_running = true;
    while (SDL_PollEvent(&event) != 0) {
        ImGui_ImplSDL2_ProcessEvent(&event);
        if (event.type == SDL_QUIT) keep_running = false;
        if (event.type == SDL_WINDOWEVENT && event.window.event == SDL_WINDOWEVENT_CLOSE &&
            event.window.windowID == SDL_GetWindowID(impl_->window)) {
            keep_running = false;
        }
    }
    // Keys move the square only while no text field has the keyboard (typing "wasd" in the
    // lobby must not walk).
    input.keyboard_captured = ImGui::GetIO().WantTextInput;
    const Uint8* keys = SDL_GetKeyboardState(nullptr);
    const auto held = [keys](SDL_Scancode a, SDL_Scancode b) {
        return keys[a] != 0 || keys[b] != 0 ? 1.0f : 0.0f;
    };
    input.move_x =
        held(SDL_SCANCODE_D, SDL_SCANCODE_RIGHT) - held(SDL_SCANCODE_A, SDL_SCANCODE_LEFT);
    input.move_y = held(SDL_SCANCODE_S, SDL_SCANCODE_DOWN) - held(SDL_SCANCODE_W, SDL_SCANCODE_UP);
    return keep_running;
}

void SdlPlatform::begin_frame() {
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplSDL2_NewFrame();
    ImGui::NewFrame();
}

Canvas& SdlPlatform::canvas() {
    return impl_->canvas;
}

void SdlPlatform::end_frame(Clock::time_point now) {
    ImGui::Render();
    int width = 0;
    int height = 0;
    SDL_GL_GetDrawableSize(impl_->window, &width, &height);
    glViewport(0, 0, width, height);
    glClearColor(kClearColor[0], kClearColor[1], kClearColor[2], 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());

    if (impl_->first_frame == Clock::time_point{}) impl_->first_frame = now;
    const double since_first = std::chrono::duration<double>(now - impl_->first_frame).count();
    while (impl_->next_screenshot < options_.screenshots.size() &&
           options_.screenshots[impl_->next_screenshot].after_seconds <= since_first) {
        const auto& shot = options_.screenshots[impl_->next_screenshot++];
        if (save_screenshot(shot.path)) {
            std::fprintf(stderr, "sample_game: screenshot %s at %.2f s\n", shot.path.c_str(),
                         since_first);
        }
    }
    SDL_GL_SwapWindow(impl_->window);

    // Cap the frame rate: without vsync (Xvfb, some drivers) a window would spin a core.
    const auto step = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / options_.max_fps));
    const auto after = Clock::now();
    if (impl_->next_frame == Clock::time_point{} || after - impl_->next_frame > 4 * step) {
        impl_->next_frame = after;
    }
    impl_->next_frame += step;
    std::this_thread::sleep_until(impl_->next_frame);
}

bool SdlPlatform::save_screenshot(const std::string& path) const {
    int width = 0;
    int height = 0;
    SDL_GL_GetDrawableSize(impl_->window, &width, &height);
    const auto w = static_cast<std::size_t>(width);
    const auto h = static_cast<std::size_t>(height);
    std::vector<std::uint8_t> pixels(w * h * 3);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadBuffer(GL_BACK);
    glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, pixels.data());
    // OpenGL's rows go bottom-up; a BMP written by SDL from a surface goes top-down.
    std::vector<std::uint8_t> flipped(pixels.size());
    for (std::size_t y = 0; y < h; ++y) {
        std::copy_n(pixels.begin() + static_cast<std::ptrdiff_t>((h - 1 - y) * w * 3), w * 3,
                    flipped.begin() + static_cast<std::ptrdiff_t>(y * w * 3));
    }
    SDL_Surface* surface = SDL_CreateRGBSurfaceWithFormatFrom(flipped.data(), width, height, 24,
                                                              width * 3, SDL_PIXELFORMAT_RGB24);
    if (surface == nullptr) {
        std::fprintf(stderr, "sample_game: screenshot failed: %s\n", SDL_GetError());
        return false;
    }
    const bool ok = SDL_SaveBMP(surface, path.c_str()) == 0;
    if (!ok)
        std::fprintf(stderr, "sample_game: cannot write %s: %s\n", path.c_str(), SDL_GetError());
    SDL_FreeSurface(surface);
    return ok;
}

}  // namespace host
