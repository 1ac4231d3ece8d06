using System.Collections.Concurrent;
using System.Diagnostics;
using Api.Users;

namespace Api.Tests.Users;

/// <summary>
/// Keyset pages (<c>GET /api/users?after=id</c>), their <c>next</c> link and <c>Link</c> header, bad cursors, and the
/// estimated <c>total</c>: on SQLite and on a real PostgreSQL.
/// </summary>
public abstract class UserPagesTests(ApiFactory app) : IDisposable
{
    private readonly HttpClient _client = app.CreateClient();

    [Fact]
    public async Task Next_links_walk_every_user_once_in_creation_order_and_the_link_header_matches_the_body()
    {
        var prefix = Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 5; i++)
        {
            await _client.CreateUserAsync($"Walker {i}", $"{prefix}-{i}@example.com");
        }

        var seen = new List<UserResponse>();
        string? next = "/api/users?pageSize=2";
        while (next is not null)
        {
            using var response = await _client.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.ReadJsonAsync<PageResponse<UserResponse>>();
            Assert.Equal(2, page.PageSize);
            Assert.Equal(next.Contains("after=", StringComparison.Ordinal) ? null : 1, page.Page);
            seen.AddRange(page.Items);
            if (page.Next is null)
            {
                Assert.False(response.Headers.Contains("Link"), "no Link header on the last page");
                Assert.True(page.Items.Count < 2, "a full page has a next link");
            }
            else
            {
                Assert.Equal($"<{page.Next}>; rel=\"next\"", Assert.Single(response.Headers.GetValues("Link")));
                Assert.Equal($"/api/users?after={page.Items[^1].Id}&pageSize=2", page.Next);
            }

            next = page.Next;
        }

        Assert.Equal(seen.Count, seen.Select(u => u.Id).Distinct().Count());
        Assert.Equal(seen.OrderBy(u => u.Id.ToString(), StringComparer.Ordinal).Select(u => u.Id), seen.Select(u => u.Id));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"Walker {i}"),
            seen.Where(u => u.Email.StartsWith(prefix, StringComparison.Ordinal)).Select(u => u.Name));
    }

    [Fact]
    public async Task A_walk_while_users_sign_up_sees_each_user_once_and_every_user_committed_before_its_page_was_asked_for()
    {
        var before = new List<UserResponse>();
        for (var i = 0; i < 30; i++)
        {
            before.Add(await _client.CreateUserAsync($"Before {i}"));
        }

        // Sign-ups from 3 clients during the whole walk, each with the moment its 201 arrived.
        var clock = Stopwatch.StartNew();
        var committed = new ConcurrentBag<(Guid Id, TimeSpan At)>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested && i < 200; i++)
            {
                var user = await _client.CreateUserAsync($"During {w}-{i}");
                committed.Add((user.Id, clock.Elapsed));
            }
        })).ToList();

        await Eventually.HoldsAsync(() => committed.Count >= 3, TimeSpan.FromMinutes(1), "the writers to sign up users");

        // Each page with the moment it was asked for and the ids it covers: (cursor, last item] or (cursor, end).
        var pages = new List<(TimeSpan AskedAt, Guid? After, Guid? Last)>();
        var seen = new List<Guid>();
        string? next = "/api/users?pageSize=3";
        while (next is not null)
        {
            var askedAt = clock.Elapsed;
            var page = (await _client.GetFromJsonAsync<PageResponse<UserResponse>>(next))!;
            Guid? after = next.Contains("after=", StringComparison.Ordinal) ? Guid.Parse(next.Split("after=")[1][..36]) : null;
            pages.Add((askedAt, after, page.Next is null ? null : page.Items[^1].Id));
            seen.AddRange(page.Items.Select(u => u.Id));
            if (committed.Count >= 20)
            {
                await stop.CancelAsync(); // enough sign-ups overlapped the walk; let it reach the end
            }

            next = page.Next;
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.All(before, user => Assert.Contains(user.Id, seen));
        Assert.True(committed.Any(c => c.At > pages[0].AskedAt && c.At < pages[^1].AskedAt), "some sign-ups happened during the walk");
        foreach (var (id, at) in committed)
        {
            var covering = pages.Single(p => (p.After is null || Compare(p.After.Value, id) < 0) && (p.Last is null || Compare(id, p.Last.Value) <= 0));
            if (covering.AskedAt > at)
            {
                Assert.True(seen.Contains(id), $"user {id}, committed at {at}, is on the page asked for at {covering.AskedAt}");
            }
        }
    }

    [Fact]
    public async Task The_next_link_is_relative_so_a_forged_host_or_forwarded_host_is_not_in_it()
    {
        await _client.CreateUserAsync("Host 1");
        await _client.CreateUserAsync("Host 2");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/users?pageSize=1");
        request.Headers.Host = "evil.example";
        request.Headers.Add("X-Forwarded-Host", "evil.example");
        request.Headers.Add("X-Forwarded-Proto", "https");

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.ReadJsonAsync<PageResponse<UserResponse>>();
        Assert.StartsWith("/api/users?after=", page.Next);
        Assert.StartsWith("</api/users?after=", Assert.Single(response.Headers.GetValues("Link")));
    }

    [Fact]
    public async Task An_id_that_is_no_user_s_is_400_naming_after()
    {
        var response = await _client.GetAsync($"/api/users?after={Guid.CreateVersion7()}");

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.StartsWith("No user has id", problem.GetProperty("errors").GetProperty("after")[0].GetString());
    }

    [Fact]
    public async Task Page_and_after_together_are_400_naming_after()
    {
        var user = await _client.CreateUserAsync("Both");

        var response = await _client.GetAsync($"/api/users?page=1&after={user.Id}");

        var problem = await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("after", out _), problem.ToString());
    }

    [Theory]
    [InlineData("after=abc")]
    [InlineData("after=%00")]
    [InlineData("after=01a2342b-596a-744b-bb75-6526738bfe1f%00")]
    [InlineData("after=")]
    [InlineData("after=01a2342b-596a-744b-bb75-6526738bfe1f&after=01a2342b-596a-744b-bb75-6526738bfe1e")]
    [InlineData("pageSize=99999999999999999999")]
    [InlineData("page=99999999999999999999")]
    public async Task A_garbled_cursor_or_a_huge_number_is_400_problem(string query)
    {
        var response = await _client.GetAsync($"/api/users?{query}");

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_cursor_of_thousands_of_characters_is_400_problem()
    {
        var response = await _client.GetAsync($"/api/users?after={new string('f', 4000)}");

        await ProblemAssert.AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_full_last_page_links_to_an_empty_page_with_no_next()
    {
        await _client.CreateUserAsync("Last");
        // The newest id is the last item of the walk's last non-empty page: when the shared table holds a multiple of
        // 100 users, the walk itself ends on an empty page.
        Guid? last = null;
        string? next = "/api/users?pageSize=100";
        while (next is not null)
        {
            var page = (await _client.GetFromJsonAsync<PageResponse<UserResponse>>(next))!;
            last = page.Items.Count > 0 ? page.Items[^1].Id : last;
            next = page.Next;
        }

        Assert.NotNull(last);
        var end = (await _client.GetFromJsonAsync<PageResponse<UserResponse>>($"/api/users?after={last}&pageSize=5"))!;

        Assert.Empty(end.Items);
        Assert.Null(end.Next);
    }

    // The order both databases sort ids in: their RFC 9562 byte order, which is the order of the lower-case text form.
    private static int Compare(Guid a, Guid b) => string.CompareOrdinal(a.ToString(), b.ToString());

    public void Dispose()
    {
        _client.Dispose();
        GC.SuppressFinalize(this);
    }
}

[Collection(InProcessApp.Name)]
public sealed class UserPagesOnSqliteTests(DefaultApp app) : UserPagesTests(app), IClassFixture<DefaultApp>;

[Collection(InProcessApp.Name)]
public sealed class UserPagesOnPostgresTests(PostgresApp app) : UserPagesTests(app), IClassFixture<PostgresApp>;
