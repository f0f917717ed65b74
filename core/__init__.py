"""Pure code below the runtime: never imports bpy, tested without Blender."""
