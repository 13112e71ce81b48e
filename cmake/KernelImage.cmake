# entryemu_kernel_image(NAME CONFIG_HEADER [DEFINES...]): assemble asm/*.S against the
# kernel-style headers with offsets generated from asm-offsets.c, and link
# them at the kernel's address into ${ENTRYEMU_IMAGE_OUT}/NAME.elf.
#
# The offsets are generated per image, as a kernel build does: the 32-bit
# compiler turns asm-offsets.c into assembly whose marker lines become
# asm/asm-offsets.h.
#
# Each image's objects and generated headers go to
# ${ENTRYEMU_ASM_GEN_DIR}/NAME, where tools/mutate.sh and tools/own-entry.sh
# (told through ENTRYEMU_ASM_DIR) link images of their own against them;
# the global property ENTRYEMU_OBJECTS_NAME lists the objects.
set(ENTRYEMU_ASM_GEN_DIR ${CMAKE_BINARY_DIR}/asm)
# clang's integrated assembler takes neither -Wa,--32 nor asm-offsets.c's
# marker lines: with clang (the fuzz build) GNU as assembles the kernel
# too, and the images come out byte for byte the same as with gcc.  The
# QEMU boot stubs (CMakeLists.txt) take the same flags.
set(ENTRYEMU_KERNEL_AS_FLAGS)
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  set(ENTRYEMU_KERNEL_AS_FLAGS -no-integrated-as)
endif()

function(entryemu_kernel_image name config)
  set(src ${CMAKE_SOURCE_DIR}/asm)
  set(gen ${ENTRYEMU_ASM_GEN_DIR}/${name})
  set(cfg ${src}/${config})
  set(defs ${ARGN})
  file(GLOB headers ${src}/include/*.h ${src}/include/*/*.h ${src}/include/*.S)

  add_custom_command(
    OUTPUT ${gen}/asm/asm-offsets.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${gen}/asm
    COMMAND ${CMAKE_C_COMPILER} ${ENTRYEMU_KERNEL_AS_FLAGS} -m32 -S -O2 -ffreestanding -include ${cfg}
            ${defs} -I${src}/include -o ${gen}/asm-offsets.s ${src}/asm-offsets.c
    COMMAND sh ${src}/gen-asm-offsets.sh ${gen}/asm-offsets.s ${gen}/asm/asm-offsets.h
    DEPENDS ${src}/asm-offsets.c ${src}/gen-asm-offsets.sh ${cfg} ${headers}
    COMMENT "Generating asm-offsets.h for ${name}")

  set(objs)
  foreach(part entry process callouts layout percpu vsyscall)
    add_custom_command(
      OUTPUT ${gen}/${part}.o
      COMMAND ${CMAKE_C_COMPILER} ${ENTRYEMU_KERNEL_AS_FLAGS} -m32 -c -D__ASSEMBLY__ -include ${cfg} ${defs}
              -I${gen} -I${src}/include -Wa,--32 -o ${gen}/${part}.o ${src}/${part}.S
      DEPENDS ${src}/${part}.S ${gen}/asm/asm-offsets.h ${cfg} ${headers}
      COMMENT "Assembling ${part}.S for ${name}")
    list(APPEND objs ${gen}/${part}.o)
  endforeach()

  add_custom_command(
    OUTPUT ${ENTRYEMU_IMAGE_OUT}/${name}.elf
    COMMAND ${CMAKE_COMMAND} -E make_directory ${ENTRYEMU_IMAGE_OUT}
    COMMAND ld -m elf_i386 -T ${src}/kernel.lds -o ${ENTRYEMU_IMAGE_OUT}/${name}.elf ${objs}
    DEPENDS ${objs} ${src}/kernel.lds
    COMMENT "Linking kernel image ${name}.elf")
  set_property(GLOBAL APPEND PROPERTY ENTRYEMU_IMAGES ${ENTRYEMU_IMAGE_OUT}/${name}.elf)
  set_property(GLOBAL PROPERTY ENTRYEMU_OBJECTS_${name} ${objs})
endfunction()
