package org.flotilla.raft.testkit;

import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The public surface of a module: every public type of the packages its descriptor exports, with
 * its public and protected constructors, methods and fields, one line each, sorted. A module's
 * {@code api.txt} holds the surface as released; {@link #check} fails when the compiled classes
 * differ from it, so that no addition or removal is unintended, and the file's history is the API's
 * changelog.
 *
 * <p>To accept a change on purpose, run the module's {@code ApiSurfaceTest} with {@code
 * -Dflotilla.api.update=true}: it rewrites the file, and the diff goes into the commit.
 */
public final class ApiSurface {

  private ApiSurface() {}

  /**
   * Compares the surface of the module compiled into {@code classes} with the file {@code api}.
   *
   * @param classes the directory holding the module's compiled classes and {@code module-info}
   * @param api the committed surface file
   * @return null if they agree (or the file was rewritten on request); otherwise a message with the
   *     lines added to and removed from the file's surface
   * @throws IOException if the classes or the file cannot be read
   */
  public static String check(Path classes, Path api) throws IOException {
    List<String> actual = surface(classes);
    if (Boolean.getBoolean("flotilla.api.update")) {
      Files.write(api, actual, StandardCharsets.UTF_8);
      return null;
    }
    List<String> expected =
        Files.exists(api) ? Files.readAllLines(api, StandardCharsets.UTF_8) : List.of();
    if (actual.equals(expected)) {
      return null;
    }
    Set<String> added = new TreeSet<>(actual);
    expected.forEach(added::remove);
    Set<String> removed = new TreeSet<>(expected);
    actual.forEach(removed::remove);
    return "the public API differs from "
        + api
        + " (if the change is intended, rerun with -Dflotilla.api.update=true and commit the file)"
        + "\n  added:\n    "
        + String.join("\n    ", added)
        + "\n  removed:\n    "
        + String.join("\n    ", removed);
  }

  /**
   * Lists the surface of the module compiled into a directory.
   *
   * @param classes the directory holding the compiled classes and {@code module-info.class}
   * @return one line per public type and per public or protected member, sorted
   * @throws IOException if the directory cannot be read
   */
  public static List<String> surface(Path classes) throws IOException {
    ModuleDescriptor module =
        ModuleFinder.of(classes).findAll().stream()
            .findFirst()
            .map(ModuleReference::descriptor)
            .orElseThrow(() -> new IllegalStateException("no module-info.class in " + classes));
    Set<String> exported =
        module.exports().stream()
            .filter(e -> !e.isQualified())
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toSet());
    Set<String> lines = new TreeSet<>();
    List<Path> files;
    try (Stream<Path> walk = Files.walk(classes)) {
      files = walk.filter(p -> p.toString().endsWith(".class")).collect(Collectors.toList());
    }
    for (Path file : files) {
      String name = classes.relativize(file).toString().replace('\\', '/');
      name = name.substring(0, name.length() - ".class".length()).replace('/', '.');
      int dot = name.lastIndexOf('.');
      if (dot < 0 || !exported.contains(name.substring(0, dot))) {
        continue;
      }
      Class<?> type;
      try {
        type = Class.forName(name, false, ApiSurface.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException("compiled class not on the class path: " + name, e);
      }
      if (isVisible(type)) {
        describe(type, lines);
      }
    }
    return new ArrayList<>(lines);
  }

  /** Public, and nested only in public types: what code outside the module can name. */
  private static boolean isVisible(Class<?> type) {
    for (Class<?> t = type; t != null; t = t.getDeclaringClass()) {
      if (!Modifier.isPublic(t.getModifiers()) || t.isAnonymousClass() || t.isLocalClass()) {
        return false;
      }
    }
    return true;
  }

  private static void describe(Class<?> type, Set<String> lines) {
    String name = type.getName();
    StringBuilder header =
        new StringBuilder(Modifier.toString(type.getModifiers() & ~Modifier.INTERFACE));
    header.append(' ').append(kind(type));
    if (type.getGenericSuperclass() != null
        && type.getSuperclass() != Object.class
        && type.getSuperclass() != Record.class
        && type.getSuperclass() != Enum.class) {
      header.append(" extends ").append(type.getGenericSuperclass().getTypeName());
    }
    if (type.getGenericInterfaces().length > 0) {
      header.append(type.isInterface() ? " extends " : " implements ");
      header.append(
          Stream.of(type.getGenericInterfaces())
              .map(java.lang.reflect.Type::getTypeName)
              .collect(Collectors.joining(", ")));
    }
    lines.add(name + " : " + header); // sorts before the type's members

    for (Constructor<?> c : type.getDeclaredConstructors()) {
      member(name, c, c.toGenericString(), lines);
    }
    for (Method m : type.getDeclaredMethods()) {
      if (!m.isSynthetic() && !m.isBridge()) {
        member(name, m, m.toGenericString(), lines);
      }
    }
    for (Field f : type.getDeclaredFields()) {
      if (!f.isSynthetic()) {
        member(name, f, f.toGenericString(), lines);
      }
    }
  }

  private static void member(String type, Member m, String signature, Set<String> lines) {
    int mod = m.getModifiers();
    if (Modifier.isPublic(mod) || Modifier.isProtected(mod)) {
      boolean varargs = m instanceof Executable e && e.isVarArgs();
      // the declaring type starts the line; it is left out of the signature
      String shown = signature.replace(" " + type + ".", " ").replace(" " + type + "(", " <init>(");
      lines.add(type + " :: " + shown + (varargs ? " (varargs)" : ""));
    }
  }

  private static String kind(Class<?> type) {
    if (type.isAnnotation()) {
      return "@interface";
    }
    if (type.isInterface()) {
      return "interface";
    }
    if (type.isEnum()) {
      return "enum";
    }
    return type.isRecord() ? "record" : "class";
  }
}
