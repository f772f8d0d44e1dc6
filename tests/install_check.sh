#!/bin/sh
# Install liblatent into a scratch prefix and build the example against it
# twice: with pkg-config, and as a CMake package. Run by ctest.
set -eu
src=$1 build=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
libdir=$(ls -d "$work"/prefix/lib*/pkgconfig | head -n 1)
export PKG_CONFIG_PATH="$libdir"
cc -Wall -Wextra -Werror -std=c11 "$src/examples/gmm_fit.c" $(pkg-config --cflags latent) \
   -L"$work/prefix/lib" $(pkg-config --libs --static latent) -o "$work/gmm_fit_pc"
LD_LIBRARY_PATH="$(dirname "$libdir")" "$work/gmm_fit_pc" "$work/a.safetensors"
mkdir -p "$work/consumer"
cat > "$work/consumer/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(latent REQUIRED)
add_executable(gmm_fit $src/examples/gmm_fit.c)
target_link_libraries(gmm_fit PRIVATE latent::latent_static)
CM
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer/build" >/dev/null
"$work/consumer/build/gmm_fit" "$work/b.safetensors"
cmp "$work/a.safetensors" "$work/b.safetensors"
echo "1 passed, 0 failed"
