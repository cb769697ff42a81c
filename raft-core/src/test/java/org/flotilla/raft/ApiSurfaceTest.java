package org.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.flotilla.raft.testkit.ApiSurface;
import org.junit.jupiter.api.Test;

/**
 * The module's public API equals the committed {@code api.txt}: an unintended addition or removal
 * fails the build. {@code -Dflotilla.api.update=true} rewrites the file after an intended change.
 */
class ApiSurfaceTest {

  @Test
  void thePublicApiIsTheCommittedOne() throws IOException {
    String difference = ApiSurface.check(Path.of("target/classes"), Path.of("api.txt"));
    assertThat(difference).as("%s", difference).isNull();
  }
}
