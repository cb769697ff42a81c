package org.flotilla.raft.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntPredicate;
import org.flotilla.raft.spi.StorageException;

/**
 * Which groups of a sharded cluster this server holds, kept in {@code DATA_DIR/shards.json}: the
 * cluster's shape ({@code --shards}, {@code --replicas}, the servers in {@code --members} order),
 * checked at every start, and each held group with how its replica began. The file is the truth
 * after the first start: replicas moved here or away are recorded in it before (or, for a removal,
 * around) the change, so a restart opens exactly the replicas the server held.
 *
 * <p>A replica's states: {@link State#BOOTSTRAP} (placed here at the cluster's first start, started
 * with the placement as its configuration), {@link State#JOINED} (moved here later, started with no
 * configuration of its own: the group's leader adds it), {@link State#LEAVING} (being deleted: a
 * start that finds it deletes its data and drops it, so a crash during a removal leaves nothing).
 *
 * <p>Writes replace the file atomically (a temporary file, forced, renamed over it, the directory
 * forced), so a crash leaves the old or the new catalog, never a torn one.
 *
 * <p>Not thread-safe: owned by the server's admin thread ({@link ShardedKvServer}), except during
 * the server's start, which runs before that thread gets it.
 */
final class ShardCatalog {

  /** How a replica held here began, or that it is being deleted. */
  enum State {
    BOOTSTRAP,
    JOINED,
    LEAVING
  }

  static final String FILE = "shards.json";

  private final Path dir;
  private final int shards;
  private final int replicas;
  private final List<String> servers;
  private final TreeMap<Integer, State> groups;

  private ShardCatalog(
      Path dir, int shards, int replicas, List<String> servers, Map<Integer, State> groups) {
    this.dir = dir;
    this.shards = shards;
    this.replicas = replicas;
    this.servers = List.copyOf(servers);
    this.groups = new TreeMap<>(groups);
  }

  /**
   * Opens the catalog in a data directory, creating it at the first start with the groups {@code
   * placedHere} accepts, as {@link State#BOOTSTRAP}.
   *
   * @param dir the data directory
   * @param shards the number of groups ({@code --shards})
   * @param replicas replicas per group ({@code --replicas})
   * @param servers the servers' ids in {@code --members} order
   * @param placedHere which groups the initial placement puts on this server
   * @return the catalog
   * @throws StorageException if the file is unreadable or malformed, or records another shape of
   *     cluster (the message says which flag differs)
   */
  static ShardCatalog open(
      Path dir, int shards, int replicas, List<String> servers, IntPredicate placedHere) {
    Path file = dir.resolve(FILE);
    if (!Files.exists(file)) {
      TreeMap<Integer, State> initial = new TreeMap<>();
      for (int g = 0; g < shards; g++) {
        if (placedHere.test(g)) {
          initial.put(g, State.BOOTSTRAP);
        }
      }
      ShardCatalog c = new ShardCatalog(dir, shards, replicas, servers, initial);
      c.write();
      return c;
    }
    JsonNode json;
    try {
      json = KvApi.JSON.readTree(Files.readAllBytes(file));
    } catch (IOException e) {
      throw new StorageException(file + " cannot be read: " + e.getMessage(), e);
    }
    try {
      int storedShards = json.required("shards").intValue();
      int storedReplicas = json.required("replicas").intValue();
      List<String> storedServers = new ArrayList<>();
      json.required("servers").forEach(n -> storedServers.add(n.textValue()));
      if (storedShards != shards || storedReplicas != replicas || !storedServers.equals(servers)) {
        throw new StorageException(
            file
                + " records a cluster of --shards "
                + storedShards
                + " --replicas "
                + storedReplicas
                + " over the servers "
                + storedServers
                + "; this start has --shards "
                + shards
                + " --replicas "
                + replicas
                + " over "
                + servers
                + ". Start with the flags of the cluster's first start",
            null);
      }
      TreeMap<Integer, State> held = new TreeMap<>();
      for (Map.Entry<String, JsonNode> e : json.required("groups").properties()) {
        int g = Integer.parseInt(e.getKey());
        if (g < 0 || g >= shards) {
          throw new IllegalArgumentException("group " + g + " is out of range");
        }
        held.put(g, State.valueOf(e.getValue().textValue()));
      }
      return new ShardCatalog(dir, shards, replicas, servers, held);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new StorageException(file + " is malformed: " + e.getMessage(), e);
    }
  }

  /** The groups held here and their states, by group number; a read-only view. */
  Map<Integer, State> groups() {
    return Collections.unmodifiableMap(groups);
  }

  /**
   * Records a group's state and makes it durable before returning.
   *
   * @throws StorageException if the file cannot be written
   */
  void put(int group, State state) {
    groups.put(group, state);
    write();
  }

  /**
   * Drops a group and makes that durable before returning.
   *
   * @throws StorageException if the file cannot be written
   */
  void remove(int group) {
    groups.remove(group);
    write();
  }

  private void write() {
    ObjectNode json = KvApi.object();
    json.put("shards", shards);
    json.put("replicas", replicas);
    ArrayNode s = json.putArray("servers");
    servers.forEach(s::add);
    ObjectNode g = json.putObject("groups");
    groups.forEach((k, v) -> g.put(Integer.toString(k), v.name()));
    Path file = dir.resolve(FILE);
    Path tmp = dir.resolve(FILE + ".tmp");
    try {
      byte[] bytes = KvApi.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(json);
      try (FileChannel ch =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE)) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
          ch.write(b);
        }
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      // The rename is durable once the directory is.
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      }
    } catch (IOException e) {
      throw new StorageException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
