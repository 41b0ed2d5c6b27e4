// sample_game host — the player's intent, written by the platform (keyboard, gamepad) or a
// module (the autopilot), read by the game. Provided as a service by the Host.
#pragma once

namespace host {

struct Input {
    float move_x = 0.0f;             ///< -1 (left) .. 1 (right)
    float move_y = 0.0f;             ///< -1 (up) .. 1 (down): screen coordinates
    bool keyboard_captured = false;  ///< a text field has focus: the game must not read keys
};

}  // namespace host
