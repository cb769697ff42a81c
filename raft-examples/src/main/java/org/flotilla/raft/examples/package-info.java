/** Example applications built on Flotilla. */
package org.flotilla.raft.examples;
