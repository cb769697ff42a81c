package org.flotilla.raft.internal.core;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

/**
 * Switches the protocol core's seeded bugs ({@link Mutations}) on and off, for tests in other
 * packages (the simulator's bug catalogue). Enable one mutant, run, and {@link #reset()} in a
 * {@code finally}. Not thread-safe: mutants are global to the JVM, and the tests that use them run
 * one after another.
 */
public final class CoreMutants {

  private CoreMutants() {}

  /**
   * Returns the names of every mutant, as the fields of {@link Mutations} name them.
   *
   * @return the names, in declaration order
   */
  public static List<String> names() {
    List<String> names = new ArrayList<>();
    for (Field f : switches()) {
      names.add(f.getName());
    }
    return names;
  }

  /**
   * Switches one mutant on.
   *
   * @param name the mutant's name, one of {@link #names()}
   * @throws IllegalArgumentException if there is no such mutant
   */
  public static void enable(String name) {
    set(name, true);
  }

  /** Switches every mutant off. */
  public static void reset() {
    for (Field f : switches()) {
      set(f.getName(), false);
    }
  }

  /**
   * Returns the names of the mutants that are switched on.
   *
   * @return the names; empty after {@link #reset()}
   */
  public static List<String> enabled() {
    List<String> on = new ArrayList<>();
    for (Field f : switches()) {
      try {
        if (f.getBoolean(null)) {
          on.add(f.getName());
        }
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e);
      }
    }
    return on;
  }

  private static void set(String name, boolean value) {
    for (Field f : switches()) {
      if (f.getName().equals(name)) {
        try {
          f.setBoolean(null, value);
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
        return;
      }
    }
    throw new IllegalArgumentException("no mutant " + name + "; known: " + names());
  }

  private static List<Field> switches() {
    List<Field> out = new ArrayList<>();
    for (Field f : Mutations.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == boolean.class) {
        out.add(f);
      }
    }
    return out;
  }
}
